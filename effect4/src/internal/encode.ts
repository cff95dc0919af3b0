/**
 * The call path's encoder: the shared core's one-pass encoder (`core/message.ts`), its failures turned
 * into the library's typed errors.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { InvalidMessage, InvalidOptions, MessageTooLarge } from "../AnalyticsError.js"
import type * as Message from "../Message.js"
import * as Core from "./core/message.js"
import * as Ids from "./ids.js"
import * as Version from "./version.js"

/** @internal */
export interface EncoderSettings {
  readonly maxMessageBytes: number
  readonly defaultContext: Message.JsonObject | undefined
  readonly defaultIntegrations: Message.Integrations | undefined
}

/**
 * The synchronous encoder of the call path: the message in wire form, or an Effect that fails with
 * the typed error. No Effect runs for a valid message.
 *
 * @internal
 */
export type EncodeSync = (
  type: Message.MessageType,
  input: unknown
) => Message.EncodedMessage | Effect.Effect<never, InvalidMessage | MessageTooLarge>

/** @internal */
export type Encoder = (
  type: Message.MessageType,
  input: unknown
) => Effect.Effect<Message.EncodedMessage, InvalidMessage | MessageTooLarge>

const toError = (
  type: Message.MessageType,
  failure: Core.Invalid | Core.TooLarge,
  limit: number
): InvalidMessage | MessageTooLarge =>
  failure._tag === "Invalid"
    ? new InvalidMessage({ messageType: String(type), path: failure.path, reason: failure.reason })
    : new MessageTooLarge({
      messageType: type,
      messageId: failure.messageId,
      size: failure.size,
      limit,
      exact: failure.exact
    })

/**
 * Builds the encoder a client uses for every call. The client's defaults are read once, here, and
 * snapshotted: a default that cannot be used is an `InvalidOptions` naming it, for the layer to fail
 * with.
 *
 * @internal
 */
export const makeEncodeSync = (settings: EncoderSettings, ids: Ids.Ids): Result.Result<EncodeSync, InvalidOptions> => {
  const encoder = Core.makeEncoder({
    maxMessageBytes: settings.maxMessageBytes,
    defaultContext: settings.defaultContext,
    defaultIntegrations: settings.defaultIntegrations,
    library: { name: Version.name, version: Version.version }
  })
  if ("_tag" in encoder) {
    return Result.fail(new InvalidOptions({ option: encoder.option, path: encoder.path, reason: encoder.reason }))
  }
  const limit = encoder.limit
  return Result.succeed((type, input) => {
    const result = Core.encode(encoder, type, input, ids)
    return Core.isFailure(result) ? Effect.fail(toError(type, result, limit)) : result
  })
}

/**
 * The encoder as an Effect-returning function, with ids and time from the `Random` and `Clock` in
 * context at each call (for tests and tools; the client uses `makeEncodeSync`). Settings that cannot
 * be used are a defect here: they are the caller's code.
 *
 * @internal
 */
export const makeEncoder = (settings: EncoderSettings): Encoder => (type, input) =>
  Effect.flatMap(Ids.make, (ids) =>
    Result.match(makeEncodeSync(settings, ids), {
      onFailure: (error) => Effect.die(error),
      onSuccess: (encode) => {
        const result = encode(type, input)
        return Effect.isEffect(result) ? result : Effect.succeed(result)
      }
    }))
