import { invalidField } from "./errors";
import type { TransStatus, TransType } from "./model";
import type { ListFilter } from "./repository";

/** The largest id a transaction can have (the store's ids are bigint): every cursor is at most this. */
const MAX_ID = 2n ** 63n - 1n;

/** Page size when a listing asks for none. */
const DEFAULT_PAGE_SIZE = 100;

/** A listing as any adapter asks for it; the page size and the cursor are checked by `listFilter`. */
export interface ListQuery extends PageQuery {
  /** Only these statuses (none or empty: any). */
  statuses?: TransStatus[];
  transType?: TransType;
  createdFrom?: Date;
  createdTo?: Date;
  /** Only gids that start with this ("" or undefined: any). */
  gidPrefix?: string;
}

/** One page of any listing: its size and the cursor where it starts. */
export interface PageQuery {
  /** undefined: DEFAULT_PAGE_SIZE. */
  pageSize?: number;
  /** The previous page's `next`; undefined or "": the first page. */
  cursor?: string;
}

/** A page's size and cursor, checked (bad input at `page_size` or `page_token`). */
export function checkPage(
  q: PageQuery,
  maxPageSize: number,
): { beforeId: string | undefined; limit: number } {
  const limit = q.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > maxPageSize) {
    throw invalidField(["page_size"], `must be between 1 and ${maxPageSize}`);
  }
  const cursor = q.cursor || undefined;
  // a cursor is an id: digits beyond the id range never came from a listing (and the store would refuse them)
  if (cursor !== undefined && (!/^\d{1,19}$/.test(cursor) || BigInt(cursor) > MAX_ID)) {
    throw invalidField(["page_token"], "is not a cursor of this listing");
  }
  return { beforeId: cursor, limit };
}

/** The repository's filter of a listing; bad input at `page_size` or `page_token`. */
export function listFilter(q: ListQuery, maxPageSize: number): ListFilter {
  const { beforeId, limit } = checkPage(q, maxPageSize);
  return {
    beforeId,
    limit,
    statuses: q.statuses?.length ? q.statuses : undefined,
    transType: q.transType,
    createdFrom: q.createdFrom,
    createdTo: q.createdTo,
    gidPrefix: q.gidPrefix || undefined,
  };
}
