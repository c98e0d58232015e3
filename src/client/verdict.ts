/** dtm's verdicts besides success: FAILURE (give up), ONGOING (ask again later). */
export type Verdict = "FAILURE" | "ONGOING" | undefined;

/**
 * dtm's reading of an HTTP answer that is not plain success (§4.5 of the protocol): 425 or a body
 * containing ONGOING is ONGOING, then 409 or a body containing FAILURE is FAILURE.
 *
 * @example
 * httpVerdict(409, '{"dtm_result":"FAILURE"}'); // "FAILURE"
 */
export function httpVerdict(status: number, text: string): Verdict {
  if (status === 425 || text.includes("ONGOING")) return "ONGOING";
  if (status === 409 || text.includes("FAILURE")) return "FAILURE";
  return undefined;
}

/**
 * dtm's reading of a gRPC error: FAILED_PRECONDITION (or ABORTED saying exactly ONGOING) is ONGOING,
 * ABORTED is FAILURE.
 *
 * @example
 * grpcVerdict("ABORTED", "insufficient funds"); // "FAILURE"
 */
export function grpcVerdict(code: string, message: string): Verdict {
  if (code === "FAILED_PRECONDITION" || (code === "ABORTED" && message === "ONGOING")) return "ONGOING";
  if (code === "ABORTED") return "FAILURE";
  return undefined;
}

/** The `message` of dtm's error envelope, else the text itself. @example envelopeMessage('{"message":"x"}') // "x" */
export function envelopeMessage(text: string): string {
  try {
    const m = (JSON.parse(text) as { message?: unknown; error?: unknown }) ?? {};
    if (typeof m.message === "string") return m.message;
    if (typeof m.error === "string") return m.error;
  } catch {
    // not JSON: the text says it
  }
  return text;
}
