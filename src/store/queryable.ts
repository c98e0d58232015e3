import type { QueryResultRow } from "pg";

/**
 * Runs one named statement. `name` is the exported function that owns the statement (it is what
 * statement hooks report); it is not a prepared-statement name: statements stay unnamed on the wire.
 */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(
    name: string,
    text: string,
    values?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>;
}
