import type { Interceptor } from "@connectrpc/connect";
import { checkJsonInput } from "../core/json-input";

/**
 * Refuses a gRPC/Connect request holding U+0000 in any string field (INVALID_ARGUMENT naming the
 * field): Postgres text cannot store it, and the insert would fail instead. JSON bodies are checked
 * where they are parsed (`parseJson`); this covers binary protobuf.
 */
export function refuseNulStrings(): Interceptor {
  return (next) => async (req) => {
    if (!req.stream) checkJsonInput(req.message);
    return next(req);
  };
}
