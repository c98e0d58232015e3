import type { QueryResultRow } from "pg";

/**
 * Runs one named statement. `name` is the exported function that owns the statement (it is what
 * statement hooks report); statements stay unnamed on the wire, except the hot path's two that
 * store.ts prepares under this name (their text never changes).
 */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(
    name: string,
    text: string,
    values?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>;
}
