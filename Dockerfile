FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# inside a container, 127.0.0.1 is the container alone: serve its network interfaces
ENV DTX_SERVER_HOST=0.0.0.0
EXPOSE 36789 36790
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/server/main.js"]
