/**
 * `npm run faults`: runs every fault scenario against a local fault server, prints a markdown table,
 * lists any broken invariant, and exits non-zero if there is one.
 */
import { Duration, Effect, Option } from "effect"
import { check, type Row, run, scenarios, table } from "./scenarios.js"

// A scenario takes a few seconds; one that has not finished after this has hung.
const scenarioLimit = Duration.seconds(60)

const main = Effect.gen(function*() {
  const rows: Array<Row> = []
  const problems: Array<string> = []
  for (const scenario of scenarios) {
    const row = yield* Effect.timeoutOption(run(scenario), scenarioLimit)
    if (Option.isNone(row)) {
      problems.push(`- ${scenario.name}: did not finish within ${Duration.format(scenarioLimit)}`)
      continue
    }
    rows.push(row.value)
    for (const problem of check(scenario, row.value)) problems.push(`- ${scenario.name}: ${problem}`)
  }
  return { rows, problems }
})

const { problems, rows } = await Effect.runPromise(main)
process.stdout.write(table(rows) + "\n\n")
const reasons = rows.filter((r) => Object.keys(r.failureReasons).length > 0)
for (const row of reasons) {
  process.stdout.write(`${row.scenario}: failed by reason ${JSON.stringify(row.failureReasons)}\n`)
}
for (const row of rows) {
  if (row.requestsDuringPause !== undefined) {
    process.stdout.write(`${row.scenario}: ${row.requestsDuringPause} requests during the Retry-After pause\n`)
  }
}
process.stdout.write(`total ${rows.reduce((n, r) => n + r.millis, 0)} ms\n`)
if (problems.length > 0) {
  process.stdout.write(`\nbroken invariants:\n${problems.join("\n")}\n`)
  process.exitCode = 1
} else {
  process.stdout.write("\nall invariants hold\n")
}
