/**
 * The page's clients of the native admin and topic services: @connectrpc/connect-web with the same
 * generated stubs as the server. The admin token lives in this tab's sessionStorage and goes out as an
 * `authorization` header — never a cookie, so no cross-site request can carry it.
 */
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { AdminService } from "../gen/dtx/v1/admin_pb";
import { TopicService } from "../gen/dtx/v1/topics_pb";

const TOKEN_KEY = "dtx-admin-token";

/** The window event an operator action fires: what is shown elsewhere may have changed. */
export const CHANGED = "dtx-changed";

export function token(): string {
  return sessionStorage.getItem(TOKEN_KEY) ?? "";
}

export function setToken(value: string): void {
  if (value === "") sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, value);
}

const withToken: Interceptor = (next) => (req) => {
  const t = token();
  if (t !== "") req.header.set("authorization", `Bearer ${t}`);
  return next(req);
};

const transport = createConnectTransport({ baseUrl: location.origin, interceptors: [withToken] });

export const admin = createClient(AdminService, transport);
export const topics = createClient(TopicService, transport);

/** Whether an error means the token is missing or wrong. */
export function needsToken(err: unknown): boolean {
  return ConnectError.from(err).code === Code.Unauthenticated;
}

/** An error's text for the page. */
export function errorText(err: unknown): string {
  return ConnectError.from(err).rawMessage;
}
