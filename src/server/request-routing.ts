import { join } from "node:path";
import type { Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Logger } from "pino";
import { Dtm } from "../../gen/dtmgimp/dtmgimp_pb";
import { AdminService } from "../../gen/dtx/v1/admin_pb";
import { CoordinatorService } from "../../gen/dtx/v1/coordinator_pb";
import { TopicService } from "../../gen/dtx/v1/topics_pb";
import { adminService } from "../api/admin-service";
import { createDtmHttpRoutes } from "../api/dtm-http";
import { dtmGrpcService } from "../api/dtm-grpc";
import { hideInternalErrors } from "../api/internal-errors";
import { createJsonRpcRoute } from "../api/json-rpc";
import { refuseNulStrings } from "../api/message-strings";
import { clearRequestErrors } from "../api/request-errors";
import { sendJson, type Req, type Res } from "../api/http-io";
import { coordinatorService } from "../api/native-service";
import { topicService } from "../api/native-topics";
import { REST_SERVICES } from "../api/openapi";
import { createRestGateway } from "../api/rest-gateway";
import type { Engine } from "../core/engine";
import type { Topics } from "../core/topics";
import type { Store } from "../store/store";
import { adminAuth, type AdminToken } from "./admin-auth";
import { adminPageRoute } from "./admin-page-route";
import type { Handler } from "./bind-ports";
import type { Config } from "./config";
import { metricsRoute } from "./metrics-route";
import type { Observability } from "./observability";
import { openApiRoute } from "./openapi-route";
import { packageRoot } from "./package-root";
import { answerUnreadableRequest } from "./unreadable-request";
import { dtxVersion } from "./version";

/** What the coordinator's request handler serves from. */
export interface RoutingDeps {
  config: Config;
  engine: Engine;
  topics: Topics;
  store: Store;
  observed: Observability;
  logger: Logger;
  /** The admin tokens (admin.token, admin.tokenFile); App.start refuses none beyond loopback. */
  tokens: AdminToken[];
  /** Run around every gRPC/Connect call, before the admin check (AppOptions.interceptors). */
  interceptors?: Interceptor[];
  /** Where the admin page's built files are. Default: `dist/admin` of the package. */
  adminPageDir?: string;
}

/** Where dtm's HTTP API lives (every route of src/api/dtm-http.ts but ping and health). */
const DTM_HTTP_PREFIX = "/api/dtmsvr/";

/**
 * The handler of every listener: the native, topic, admin and dtm gRPC services over gRPC, gRPC-Web
 * and Connect; then the plain HTTP routes — metrics, OpenAPI, the admin page, dtm's HTTP routes,
 * JSON-RPC and the REST gateway — tried in order; 404 when none takes the request.
 */
export function routeRequests(deps: RoutingDeps): Handler {
  const { config, engine, topics, store, observed, logger } = deps;
  const { maxGidLength } = config.limits;
  const interceptors = [
    hideInternalErrors(logger),
    refuseNulStrings(),
    ...(deps.interceptors ?? []),
    adminAuth(deps.tokens, logger),
  ];
  const native = coordinatorService({ engine, maxGidLength });
  const nativeTopics = topicService(topics);
  const admin = adminService({
    engine,
    timeoutToFailMs: config.timeoutToFail,
    process: {
      version: dtxVersion(),
      store: store.kind,
      recoveryEnabled: config.recovery.enabled,
      workers: config.recovery.enabled ? config.recovery.concurrency : 0,
    },
  });
  const impls: Record<string, object> = {
    [CoordinatorService.typeName]: native,
    [TopicService.typeName]: nativeTopics,
    [AdminService.typeName]: admin,
  };
  const gateway = createRestGateway(
    REST_SERVICES.map((service) => ({ service, impl: impls[service.typeName]! })),
    {
      maxBodyBytes: config.server.maxBodyBytes,
      interceptors,
    },
  );
  const dtmDeps = {
    engine,
    topics,
    version: dtxVersion(),
    maxBodyBytes: config.server.maxBodyBytes,
    maxGidLength,
    timeoutToFailMs: config.timeoutToFail,
    logger,
  };
  const dtmRoutes = createDtmHttpRoutes(dtmDeps);
  const jsonRpc = createJsonRpcRoute(dtmDeps);
  const metricsText = metricsRoute(observed.scrape);
  const openApi = openApiRoute(dtxVersion());
  const adminPage = adminPageRoute(deps.adminPageDir ?? join(packageRoot(), "dist", "admin"));
  // the plain HTTP routes, tried in order; a request none of them takes is answered 404
  const plainRoutes = (routes: Array<(req: Req, res: Res) => boolean | Promise<boolean>>) => {
    return (req: Req, res: Res): void => {
      void (async () => {
        if (!isGrpc(req)) for (const route of routes) if (await route(req, res)) return;
        sendJson(res, 404, { message: `no route for ${req.method} ${req.url}` });
      })().catch((err) => {
        logger.error({ err }, "request failed");
        if (!res.headersSent) sendJson(res, 500, { message: "internal error" });
      });
    };
  };
  const fallback = plainRoutes([metricsText, openApi, adminPage, dtmRoutes, jsonRpc, gateway]);
  // dtm's HTTP API, the hot path of dtm clients: no Connect route is under /api/dtmsvr/, so its
  // requests skip the Connect adapter and the other routes
  const dtmApi = plainRoutes([dtmRoutes]);
  const connect = connectNodeAdapter({
    routes: (router) => {
      router.service(CoordinatorService, native);
      router.service(TopicService, nativeTopics);
      router.service(AdminService, admin);
      router.service(Dtm, dtmGrpcService({ engine, topics, maxGidLength }));
      clearRequestErrors(router);
    },
    interceptors: [...observed.interceptors(), ...interceptors],
    fallback: fallback as Parameters<typeof connectNodeAdapter>[0]["fallback"],
    readMaxBytes: config.server.maxBodyBytes,
  });
  const handler = (req: Req, res: Res): void => {
    if (req.url?.startsWith(DTM_HTTP_PREFIX) && !isGrpc(req)) return dtmApi(req, res);
    try {
      connect(req, res);
    } catch (err) {
      answerUnreadableRequest(req, res, err, logger);
    }
  };
  return observed.wrapHandler(handler);
}

function isGrpc(req: Req): boolean {
  return String(req.headers["content-type"] ?? "").startsWith("application/grpc");
}
