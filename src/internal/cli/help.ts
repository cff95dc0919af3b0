/**
 * The command line's help: short, plain text, at most 80 columns, with the real defaults.
 *
 * `@effect/cli` parses the command line; its generated help (every option on three paragraphs, the
 * built-in options, ANSI styles even in a pipe) is replaced by these pages. Each flag is declared once,
 * with `flag`, which makes both its `@effect/cli` option and its help row, so the two cannot drift.
 *
 * @internal
 */
import * as Options from "@effect/cli/Options"
import * as Record from "effect/Record"

/** One row of a help page. @internal */
export interface HelpRow {
  /** `--max-retries N` */
  readonly usage: string
  readonly text: string
}

/** A flag: its option for the parser, and its help row. @internal */
export interface Flag<A> {
  readonly options: Options.Options<A>
  readonly help: HelpRow
}

/** @internal */
export const flag = <A>(options: Options.Options<A>, usage: string, text: string): Flag<A> => ({
  options: Options.withDescription(options, text),
  help: { usage, text }
})

/** An optional text flag: `--name PLACEHOLDER`. @internal */
export const textFlag = (name: string, placeholder: string, text: string) =>
  flag(Options.optional(Options.text(name)), `--${name} ${placeholder}`, text)

/** An optional integer flag: `--name N`. @internal */
export const intFlag = (name: string, text: string, placeholder = "N") =>
  flag(Options.optional(Options.integer(name)), `--${name} ${placeholder}`, text)

/** An on/off flag: `--name`. @internal */
export const boolFlag = (name: string, text: string) => flag(Options.boolean(name), `--${name}`, text)

/** The parser's options of a record of flags. @internal */
export const optionsOf = <F extends Record<string, Flag<any>>>(flags: F): { [K in keyof F]: F[K]["options"] } =>
  Record.map(flags, (f) => f.options) as { [K in keyof F]: F[K]["options"] }

/** The values the parser gives for a record of flags. @internal */
export type FlagValues<F> = { readonly [K in keyof F]: F[K] extends Flag<infer A> ? A : never }

/** The help rows of a record of flags, in declaration order. @internal */
export const rowsOf = (flags: Record<string, Flag<any>>): ReadonlyArray<HelpRow> =>
  Object.values(flags).map((f) => f.help)

/** A help page. @internal */
export interface Page {
  /** Usage lines, without the leading `Usage: `. */
  readonly usage: ReadonlyArray<string>
  readonly summary: string
  readonly sections: ReadonlyArray<{ readonly title: string; readonly rows: ReadonlyArray<HelpRow> }>
  readonly footer?: string | undefined
}

const wrap = (text: string, width: number): Array<string> => {
  const lines: Array<string> = []
  let current = ""
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (current === "") current = word
    else if (current.length + 1 + word.length <= width) current += " " + word
    else {
      lines.push(current)
      current = word
    }
  }
  if (current !== "") lines.push(current)
  return lines
}

/**
 * The page as text, wrapped to `width` columns (80 by default).
 *
 * @internal
 */
export const render = (page: Page, width = 80): string => {
  const out: Array<string> = []
  page.usage.forEach((line, i) => out.push(`${i === 0 ? "Usage: " : "       "}${line}`))
  out.push("")
  out.push(...wrap(page.summary, width))
  // One column for the whole page, so that its sections line up.
  const column = Math.min(24, Math.max(...page.sections.flatMap((s) => s.rows.map((r) => r.usage.length))))
  for (const section of page.sections) {
    out.push("", `${section.title}:`)
    for (const row of section.rows) {
      const textWidth = Math.max(20, width - column - 4)
      const text = wrap(row.text, textWidth)
      if (row.usage.length > column) {
        out.push(`  ${row.usage}`)
        for (const line of text) out.push(`  ${" ".repeat(column)}  ${line}`)
      } else {
        text.forEach((line, i) => out.push(`  ${(i === 0 ? row.usage : "").padEnd(column)}  ${line}`))
      }
    }
  }
  if (page.footer !== undefined) out.push("", ...wrap(page.footer, width))
  return out.join("\n") + "\n"
}
