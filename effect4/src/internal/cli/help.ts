/**
 * The command line's help: short, plain text, at most 80 columns, with the real defaults.
 *
 * `effect/cli` parses the command line; its generated help (every flag on several lines, the
 * built-in flags, ANSI styles) is replaced by these pages. Each flag is declared once, with `flag`,
 * which makes both its `effect/cli` flag and its help row, so the two cannot drift.
 *
 * @internal
 */
import * as Record from "effect/Record"
import * as Flag from "effect/cli/Flag"

/** One row of a help page. @internal */
export interface HelpRow {
  /** `--max-retries N` */
  readonly usage: string
  readonly text: string
}

/** A flag: its definition for the parser, and its help row. @internal */
export interface CliFlag<A> {
  readonly flag: Flag.Flag<A>
  readonly help: HelpRow
}

/** @internal */
export const flag = <A>(definition: Flag.Flag<A>, usage: string, text: string): CliFlag<A> => ({
  flag: Flag.withDescription(definition, text),
  help: { usage, text }
})

/** An optional text flag: `--name PLACEHOLDER`. @internal */
export const textFlag = (name: string, placeholder: string, text: string) =>
  flag(Flag.optional(Flag.String(name)), `--${name} ${placeholder}`, text)

/** An optional integer flag: `--name N`. @internal */
export const intFlag = (name: string, text: string, placeholder = "N") =>
  flag(Flag.optional(Flag.Int(name)), `--${name} ${placeholder}`, text)

/**
 * An on/off flag: `--name`, off when absent (an `effect/cli` boolean flag is required unless it has a
 * default). @internal
 */
export const boolFlag = (name: string, text: string) =>
  flag(Flag.Boolean(name).pipe(Flag.withDefault(false)), `--${name}`, text)

/** The parser's flags of a record of flags. @internal */
export const flagsOf = <F extends Record<string, CliFlag<any>>>(flags: F): { [K in keyof F]: F[K]["flag"] } =>
  Record.map(flags, (f) => f.flag) as { [K in keyof F]: F[K]["flag"] }

/** The values the parser gives for a record of flags. @internal */
export type FlagValues<F> = { readonly [K in keyof F]: F[K] extends CliFlag<infer A> ? A : never }

/** The help rows of a record of flags, in declaration order. @internal */
export const rowsOf = (flags: Record<string, CliFlag<any>>): ReadonlyArray<HelpRow> =>
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
