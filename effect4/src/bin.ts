#!/usr/bin/env node
/**
 * The `analytics-effect` command line (Node only): `send` one call, `import` an NDJSON file, or run a
 * local `collector`. Run `analytics-effect --help`; see `docs/cli.md`.
 *
 * This is the only module that runs an Effect program (`NodeRuntime.runMain`). It is not part of the
 * library's entry point (`index.ts`).
 *
 * @since 1.0.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Effect from "effect/Effect"
import * as Cli from "./internal/cli/main.js"

Cli.main(process.argv).pipe(
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain({ disableErrorReporting: true, teardown: Cli.teardown })
)
