/**
 * Numbered schema migrations, applied in order at start (src/store/migrate.ts). Never edit a
 * released migration: add the next number.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: Migration[] = [
  {
    version: 1,
    name: "transactions and branches",
    sql: `
create table trans_global (
  id bigserial primary key,
  gid varchar(128) not null,
  trans_type varchar(45) not null,
  status varchar(45) not null,
  protocol varchar(45) not null default 'http',
  query_prepared varchar(1024) not null default '',
  custom_data text not null default '',
  options text not null default '{}',
  result text not null default '',
  rollback_reason text not null default '',
  create_time timestamptz(3) not null,
  update_time timestamptz(3) not null,
  finish_time timestamptz(3),
  rollback_time timestamptz(3),
  next_cron_time timestamptz(3),
  next_cron_interval_ms bigint not null default 0,
  owner varchar(128) not null default '',
  constraint trans_global_gid unique (gid)
);
-- the recovery worker's claim scans only unfinished transactions
create index trans_global_due on trans_global (next_cron_time)
  where status in ('prepared', 'submitted', 'aborting');

create table trans_branch_op (
  id bigserial primary key,
  gid varchar(128) not null,
  branch_id varchar(128) not null,
  op varchar(45) not null,
  url varchar(1024) not null default '',
  bin_data bytea not null default '',
  status varchar(45) not null,
  create_time timestamptz(3) not null,
  update_time timestamptz(3) not null,
  finish_time timestamptz(3),
  rollback_time timestamptz(3),
  constraint trans_branch_op_uniq unique (gid, branch_id, op)
);
`,
  },
  {
    version: 2,
    name: "branch attempts and last answer",
    sql: `
-- why a transaction is stuck: how often each branch was called, what it answered last and when
alter table trans_branch_op
  add column attempts integer not null default 0,
  add column last_outcome varchar(16) not null default '',
  add column last_code varchar(45) not null default '',
  add column last_answer text not null default '',
  add column last_call_time timestamptz(3);
`,
  },
  {
    version: 3,
    name: "key-value rows (message topics)",
    sql: `
create table kv (
  id bigserial primary key,
  cat varchar(45) not null,
  k varchar(128) not null,
  v text not null default '',
  version bigint not null default 1,
  create_time timestamptz(3) not null,
  update_time timestamptz(3) not null,
  constraint kv_uniq unique (cat, k)
);
`,
  },
  {
    version: 4,
    name: "coordinators and their heartbeats",
    sql: `
-- every running coordinator, beating; the leases of one that stopped beating are taken over
-- (src/server/heartbeat.ts). id is the first part of its owner tokens (<id>-<n>).
create table coordinator (
  id varchar(64) primary key,
  node varchar(255) not null default '',
  start_time timestamptz(3) not null,
  heartbeat_time timestamptz(3) not null
);
`,
  },
  {
    version: 5,
    name: "trace context of a transaction",
    sql: `
-- the W3C trace context of the request that created it: later passes join that trace
alter table trans_global add column trace_context varchar(1024) not null default '';
`,
  },
  {
    version: 6,
    name: "finished transactions by age (retention)",
    sql: `
-- retention.finished deletes the oldest finished transactions first, without scanning the history
create index trans_global_finished on trans_global (update_time)
  where status in ('succeed', 'failed');
`,
  },
  {
    version: 7,
    name: "the recovery claim's plan",
    sql: `
-- The recovery worker's claim (src/store/claim-statements.ts), planned with index scans only: it walks
-- trans_global_due in next_cron_time order and stops at the limit. Left to the planner, a table
-- without statistics (never analyzed: autovacuum off, or just after a restart) or with stale ones
-- (resetCronTime made a backlog due at once) gets a bitmap scan that reads and sorts every due row
-- for each claim: a backlog of n due transactions then costs O(n) per claim, O(n²) to drain.
-- The statuses are those of trans_global_due's predicate (model.ts UNFINISHED), spelled as constants
-- so that the (generic) plan of the function can use that partial index. "rows 64" (a claim's
-- default size) instead of a set-returning function's default of 1000: the statement that calls it
-- costs far below jit_above_cost, which would compile it anew for every claim (several ms each).
create function dtx_claim_due(p_owner text, p_now timestamptz, p_due_before timestamptz,
  p_lease_until timestamptz, p_limit int)
returns setof trans_global language sql volatile rows 64
set enable_seqscan = off set enable_bitmapscan = off set search_path from current
as $fn$
  update trans_global set owner = p_owner, next_cron_time = p_lease_until, update_time = p_now
  where id in (
    select id from trans_global
    where status in ('prepared', 'submitted', 'aborting') and next_cron_time <= p_due_before
    order by next_cron_time
    limit p_limit
    for update skip locked)
  returning *
$fn$;
`,
  },
  {
    version: 8,
    name: "resetCronTime's plan",
    sql: `
-- dtm's resetCronTime (src/store/trans-statements.ts makeDelayedDue), planned as the claim of
-- migration 7 is: a backward walk of trans_global_due from the furthest next look, the limit's rows
-- only. Left to the planner without statistics, each call read and sorted every row due later
-- (a backlog of n made due in calls of 1000: O(n²/1000) rows read).
create function dtx_make_delayed_due(p_after timestamptz, p_now timestamptz, p_limit int)
returns table(made bigint, candidates bigint) language sql volatile rows 1
set enable_seqscan = off set enable_bitmapscan = off set search_path from current
as $fn$
  with c as (
    select id, next_cron_time from trans_global
    where status in ('prepared', 'submitted', 'aborting') and next_cron_time > p_after
    order by next_cron_time desc, id
    limit p_limit + 1
  ), u as (
    update trans_global set next_cron_time = p_now, update_time = p_now
    where id in (select id from c order by next_cron_time desc, id limit p_limit)
    returning id
  )
  select (select count(*) from u), (select count(*) from c)
$fn$;
`,
  },
];
