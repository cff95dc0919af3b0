/**
 * Shared by the packed-install and runtime tests (test/package/*.e2e.ts, test/runtimes/*.e2e.ts): child
 * processes run as a user runs them (a clean environment, no repository tools on the PATH), the
 * install lines and examples as the README prints them, and the TypeScript compiler.
 */
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { Effect, Scope } from "effect"
import { parseMarkdown } from "../../scripts/docs.mjs"

/** The repository's root. */
export const root = Path.resolve(import.meta.dirname, "..", "..")

/** What a finished child process left. */
export interface Result {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** Both output streams, for assertion messages. */
export const output = (result: Result) => `exit ${result.code}${result.signal ? ` (${result.signal})` : ""}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`

/**
 * The environment of a user's shell: this process's, without what npm sets for a script it runs
 * (`npm_*`, the repository's `node_modules/.bin` on the PATH) and without the client's own variables
 * (`ANALYTICS_*`, `DEBUG`), plus `extra`.
 */
export const userEnv = (extra: Record<string, string> = {}): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue
    if (/^npm_/i.test(key) || key.startsWith("ANALYTICS_") || key === "DEBUG" || key === "INIT_CWD") continue
    env[key] = value
  }
  env.PATH = (process.env.PATH ?? "").split(Path.delimiter).filter((dir) => !dir.includes(`node_modules${Path.sep}.bin`))
    .join(Path.delimiter)
  env.NO_COLOR = "1"
  return { ...env, ...extra }
}

export interface ExecOptions {
  readonly cwd: string
  readonly env?: Record<string, string> | undefined
  readonly input?: string | undefined
  /** Milliseconds before the process is killed and the effect fails. Default 120,000. */
  readonly timeout?: number | undefined
}

/** Runs `file args` to completion. Fails only if it cannot start or outlives `timeout`; exit codes are data. */
export const exec = (file: string, args: ReadonlyArray<string>, options: ExecOptions): Effect.Effect<Result, Error> =>
  Effect.async<Result, Error>((resume) => {
    const child = spawn(file, args, { cwd: options.cwd, env: options.env ?? userEnv(), stdio: ["pipe", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    const limit = options.timeout ?? 120_000
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      resume(Effect.fail(new Error(`${file} ${args.join(" ")} did not finish within ${limit} ms\n${stdout}\n${stderr}`)))
    }, limit)
    child.on("error", (error) => {
      clearTimeout(timer)
      resume(Effect.fail(error))
    })
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      resume(Effect.succeed({ code, signal, stdout, stderr }))
    })
    child.stdin.end(options.input ?? "")
    return Effect.sync(() => {
      clearTimeout(timer)
      child.kill("SIGKILL")
    })
  })

/** Runs `file args` and fails, with its output, unless it exits 0. */
export const execOk = (file: string, args: ReadonlyArray<string>, options: ExecOptions) =>
  Effect.flatMap(exec(file, args, options), (result) =>
    result.code === 0
      ? Effect.succeed(result)
      : Effect.fail(new Error(`${Path.basename(file)} ${args.join(" ")} (in ${options.cwd}) failed: ${output(result)}`)))

/** A long-running process (a server), stopped when the scope closes. */
export interface Service {
  /** Resolves with the first line the process writes on its file descriptor 3 (a control channel). */
  readonly control: Effect.Effect<string, Error>
  readonly output: () => string
}

export const service = (
  file: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly env?: Record<string, string> | undefined }
): Effect.Effect<Service, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn(file, args, { cwd: options.cwd, env: options.env ?? userEnv(), stdio: ["ignore", "pipe", "pipe", "pipe"] })
      let out = ""
      child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (out += chunk))
      child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (out += chunk))
      const control = Effect.async<string, Error>((resume) => {
        let buffer = ""
        const fd3 = child.stdio[3] as NodeJS.ReadableStream
        fd3.setEncoding("utf8")
        fd3.on("data", (chunk: string) => {
          buffer += chunk
          const newline = buffer.indexOf("\n")
          if (newline >= 0) resume(Effect.succeed(buffer.slice(0, newline)))
        })
        child.on("exit", (code) => resume(Effect.fail(new Error(`${file} exited (${code}) before it was ready:\n${out}`))))
      }).pipe(Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new Error(`${file} was not ready within 60 s:\n${out}`) }))
      return { child, service: { control, output: () => out } }
    }),
    ({ child }) =>
      Effect.async<void>((resume) => {
        if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
        child.on("exit", () => resume(Effect.void))
        child.kill("SIGTERM")
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000)
        timer.unref()
      })
  ).pipe(Effect.map(({ service }) => service))

/** The text of a repository file. */
export const readText = (path: string) => Fs.readFileSync(Path.join(root, path), "utf8")

/** A markdown section: from the `## title` heading to the next heading of that level or higher. */
export const section = (markdown: string, title: string): string => {
  const lines = markdown.split("\n")
  const start = lines.findIndex((line) => line === `## ${title}`)
  if (start < 0) throw new Error(`no "## ${title}" heading`)
  const end = lines.findIndex((line, i) => i > start && /^#{1,2} /.test(line))
  return lines.slice(start + 1, end < 0 ? undefined : end).join("\n")
}

/**
 * The `npm install` lines of the shell blocks in a markdown text, as argument lists (after
 * `install`), comments removed.
 */
export const installLines = (markdown: string): Array<Array<string>> => {
  const lines: Array<Array<string>> = []
  for (const block of markdown.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of (block[1] ?? "").split("\n")) {
      const words = line.replace(/#.*$/, "").trim().split(/\s+/)
      if (words[0] === "npm" && words[1] === "install") lines.push(words.slice(2))
    }
  }
  return lines
}

/** The code of an `<!-- include: path -->` block as the markdown shows it (with package imports). */
export const includedBlock = (markdown: string, path: string): string => {
  const include = parseMarkdown(markdown).includes.find((i) => i.path === path)
  if (include === undefined) throw new Error(`no include of ${path}`)
  const lines = include.current.split("\n")
  return lines.slice(1, -1).join("\n") + "\n"
}

/** The TypeScript compiler of the repository (a user's own would be at the same version). */
export const tsc = (project: string, cwd: string) =>
  exec(process.execPath, [Path.join(root, "node_modules", "typescript", "bin", "tsc"), "-p", project], { cwd, timeout: 180_000 })

export const writeFile = (path: string, text: string) => {
  Fs.mkdirSync(Path.dirname(path), { recursive: true })
  Fs.writeFileSync(path, text)
}

export const writeJson = (path: string, value: unknown) => writeFile(path, JSON.stringify(value, null, 2) + "\n")

export const readJson = (path: string): any => JSON.parse(Fs.readFileSync(path, "utf8"))

/** A consumer project's package.json: an ES module project, as `npm init` and `"type": "module"` make. */
export const consumerPackageJson = (name: string) => ({ name, version: "1.0.0", private: true, type: "module" })
