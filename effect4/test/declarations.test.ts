/**
 * The shipped declarations type-check in a consumer's project without `skipLibCheck`.
 *
 * A consumer package is laid out in a temporary directory (its own package.json, and
 * `node_modules/analytics-effect` linking to this package, as an install would), with a file using the
 * public types. `tsc` checks it against `dist/*.d.ts` under the settings users run with: strict,
 * `skipLibCheck: false`, `NodeNext` resolution with `exactOptionalPropertyTypes`, and `Bundler`
 * resolution without it.
 * The declarations come from `npm run build` (`npm test` runs it first).
 */
import { assert, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { newest } from "./support/build.js"

const root = path.resolve(fileURLToPath(new URL("..", import.meta.url)))
const tsc = path.join(root, "node_modules", "typescript", "lib", "tsc.js")

const consumer = `
import { Effect, Layer } from "effect"
import { Analytics, AnalyticsError, MemoryTransport, Message, Outcome, Testing } from "analytics-effect"
import type { Integrations, TrackInput } from "analytics-effect/Message"

const integrations: Integrations = { All: false, Mixpanel: true, Amplitude: { apiKey: "k" } }
const input: TrackInput = { userId: "u1", event: "Signed Up", properties: { plan: "pro" }, integrations }
// @ts-expect-error: an identity is required
const noIdentity: Message.TrackInput = { event: "Signed Up" }
const message: Message.Message = { type: "page", anonymousId: "a1", name: "Home", timestamp: new Date(0) }

export const program = Effect.gen(function*() {
  const id: string = yield* Analytics.track(input)
  yield* Analytics.send(message)
  const decoded: Message.Message = yield* Message.decodeUnknown({ type: "alias", userId: "u1", previousId: "a1" })
  const outcomes: ReadonlyArray<Outcome.Outcome> = []
  return [id, decoded, outcomes, noIdentity] as const
}).pipe(
  Effect.catchTag("InvalidMessage", (error: AnalyticsError.InvalidMessage) => Effect.succeed(error.field)),
  Effect.provide(
    Analytics.layerWithoutTransport({ writeKey: "k", defaultIntegrations: integrations }).pipe(
      Layer.provideMerge(MemoryTransport.layer())
    )
  )
)
export const testing = Testing.layer()
`

// Both resolutions, and both settings of exactOptionalPropertyTypes (each run checks all of Effect's
// declarations too: about 15 seconds each, so two rather than four). Effect 4 asks for TypeScript 5.9
// and \`strict\`; the consumer's settings are otherwise those of the Effect 3 edition's test.
const configurations = [
  { name: "NodeNext, exactOptionalPropertyTypes", module: "NodeNext", resolution: "NodeNext", exact: true },
  { name: "Bundler", module: "ESNext", resolution: "Bundler", exact: false }
] as const

const run = (args: ReadonlyArray<string>, cwd: string) =>
  new Promise<{ readonly code: number; readonly output: string }>((resolve) => {
    execFile(process.execPath, [tsc, ...args], { cwd, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, output: stdout + stderr })
    })
  })

describe("declarations", () => {
  it("dist/*.d.ts type-check in a consumer without skipLibCheck (strict, NodeNext and Bundler)", async () => {
    const built = statSync(path.join(root, "dist", "Message.d.ts"), { throwIfNoEntry: false })
    assert.isDefined(built, "dist/ is missing: run `npm run build` (npm test does)")
    assert.isAtLeast(built!.mtimeMs, newest(path.join(root, "src")), "dist/ is older than src/: run `npm run build`")

    const dir = mkdtempSync(path.join(tmpdir(), "analytics-effect-consumer-"))
    try {
      mkdirSync(path.join(dir, "node_modules"))
      symlinkSync(root, path.join(dir, "node_modules", "analytics-effect"), "dir")
      symlinkSync(path.join(root, "node_modules", "effect"), path.join(dir, "node_modules", "effect"), "dir")
      writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }))
      writeFileSync(path.join(dir, "index.ts"), consumer)
      for (const c of configurations) {
        const config = `tsconfig.${c.resolution}.${c.exact}.json`
        writeFileSync(
          path.join(dir, config),
          JSON.stringify({
            compilerOptions: {
              strict: true,
              exactOptionalPropertyTypes: c.exact,
              target: "ES2022",
              lib: ["ES2022", "DOM"],
              module: c.module,
              moduleResolution: c.resolution,
              noEmit: true,
              skipLibCheck: false,
              types: []
            },
            files: ["index.ts"]
          })
        )
        const result = await run(["-p", config], dir)
        assert.strictEqual(result.output.trim(), "", `${c.name}: tsc reported errors`)
        assert.strictEqual(result.code, 0, c.name)
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 240_000)
})
