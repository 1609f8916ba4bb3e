/**
 * Runs Pulumi's real dynamic-provider host (`@pulumi/pulumi/cmd/dynamic-provider`, the process
 * `pulumi up` starts) as a child process and talks to it over its gRPC interface, as the engine
 * does, without a Pulumi CLI (research/pulumi.md §3.2).
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as grpc from "@grpc/grpc-js";
import * as pulumi from "@pulumi/pulumi";

/* eslint-disable @typescript-eslint/no-require-imports -- generated protobuf modules have no ES exports */
const provproto = require("@pulumi/pulumi/proto/provider_pb");
const provrpc = require("@pulumi/pulumi/proto/provider_grpc_pb");
const structproto = require("google-protobuf/google/protobuf/struct_pb");

const TYPE = "pulumi-nodejs:dynamic/vertex:HyperparameterTuningJob";

/** A started host. Property bags are plain JS; `__provider` is added to every call. */
export interface DynamicProviderHost {
  check(olds: object, news: object): Promise<{ inputs: Record<string, unknown>; failures: { property: string; reason: string }[] }>;
  create(name: string, inputs: object): Promise<{ id: string; properties: Record<string, unknown> }>;
  update(name: string, id: string, olds: object, news: object): Promise<Record<string, unknown>>;
  read(name: string, id: string, props: object): Promise<{ id: string; properties: Record<string, unknown> }>;
  delete(name: string, id: string, props: object): Promise<void>;
  /** Everything the host printed (its stdout after the port line, and stderr). */
  output(): string;
  stop(): Promise<void>;
}

/** Serializes `provider` as `pulumi up` does and starts a host process for it. */
export async function startDynamicProviderHost(provider: pulumi.dynamic.ResourceProvider, cwd: string): Promise<DynamicProviderHost> {
  const serialized = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
  const providerText = serialized.text;
  const child: ChildProcess = spawn(process.execPath, [require.resolve("@pulumi/pulumi/cmd/dynamic-provider"), "127.0.0.1:1"], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const port = await new Promise<number>((resolve, reject) => {
    let first = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      if (first.includes("\n")) {
        output += chunk.toString();
        return;
      }
      first += chunk.toString();
      const newline = first.indexOf("\n");
      if (newline >= 0) {
        output += first.slice(newline + 1);
        resolve(Number(first.slice(0, newline)));
      }
    });
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code) => reject(new Error(`the host exited (${code}) before listening: ${output}`)));
  });
  const client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const struct = (value: object) => structproto.Struct.fromJavaScript({ ...value, __provider: providerText });
  const urn = (name: string) => `urn:pulumi:test::vertex-tuning::${TYPE}::${name}`;

  const call = <T>(method: string, request: unknown): Promise<T> =>
    new Promise((resolve, reject) => {
      client[method](request, (error: grpc.ServiceError | null, response: T) => (error ? reject(new Error(error.details || error.message)) : resolve(response)));
    });
  const strip = (props: Record<string, unknown>) => {
    const { __provider: _provider, ...rest } = props;
    return rest;
  };

  return {
    async check(olds, news) {
      const req = new provproto.CheckRequest();
      req.setUrn(urn("job"));
      req.setOlds(struct(olds));
      req.setNews(struct(news));
      const resp = await call<{ getInputs(): { toJavaScript(): Record<string, unknown> }; getFailuresList(): { getProperty(): string; getReason(): string }[] }>("check", req);
      return {
        inputs: strip(resp.getInputs().toJavaScript()),
        failures: resp.getFailuresList().map((f) => ({ property: f.getProperty(), reason: f.getReason() })),
      };
    },
    async create(name, inputs) {
      const req = new provproto.CreateRequest();
      req.setUrn(urn(name));
      req.setProperties(struct(inputs));
      const resp = await call<{ getId(): string; getProperties(): { toJavaScript(): Record<string, unknown> } }>("create", req);
      return { id: resp.getId(), properties: strip(resp.getProperties().toJavaScript()) };
    },
    async update(name, id, olds, news) {
      const req = new provproto.UpdateRequest();
      req.setUrn(urn(name));
      req.setId(id);
      req.setOlds(struct(olds));
      req.setNews(struct(news));
      const resp = await call<{ getProperties(): { toJavaScript(): Record<string, unknown> } }>("update", req);
      return strip(resp.getProperties().toJavaScript());
    },
    async read(name, id, props) {
      const req = new provproto.ReadRequest();
      req.setUrn(urn(name));
      req.setId(id);
      req.setProperties(struct(props));
      const resp = await call<{ getId(): string; getProperties(): { toJavaScript(): Record<string, unknown> } }>("read", req);
      return { id: resp.getId(), properties: strip(resp.getProperties().toJavaScript()) };
    },
    async delete(name, id, props) {
      const req = new provproto.DeleteRequest();
      req.setUrn(urn(name));
      req.setId(id);
      req.setProperties(struct(props));
      await call("delete", req);
    },
    output: () => output,
    async stop() {
      client.close();
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
    },
  };
}
