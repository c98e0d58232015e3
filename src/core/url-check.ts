import { invalidField, type FieldPath } from "./errors";

/** The longest URL the store keeps (its `url` and `query_prepared` columns). */
export const MAX_URL_LENGTH = 1024;

/**
 * Checks a URL the coordinator will call: an http(s) URL, or — for a transaction whose protocol is
 * grpc — `host:port/package.Service/Method`. Bad input at `path`.
 */
export function checkUrl(url: string, protocol: string, path: FieldPath): void {
  if (url.length > MAX_URL_LENGTH) throw invalidField(path, `is longer than ${MAX_URL_LENGTH} characters`);
  if (/^https?:\/\//.test(url)) {
    try {
      new URL(url);
      return;
    } catch {
      throw invalidField(path, `${JSON.stringify(url)} is not a valid URL`);
    }
  }
  if (protocol === "grpc" && /^[^/\s:]+:\d+\/[\w.]+\/\w+$/.test(url)) return;
  throw invalidField(
    path,
    protocol === "grpc"
      ? `${JSON.stringify(url)} is neither an http(s) URL nor host:port/package.Service/Method`
      : `${JSON.stringify(url)} is not an http(s) URL`,
  );
}
