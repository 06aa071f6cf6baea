/**
 * Wire-level fakes of Pub/Sub's Publisher and Secret Manager, served over gRPC from the .proto
 * files that ship inside the client packages, so the real client libraries talk to them unchanged.
 */
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const gaxProtos = path.join(path.dirname(require.resolve('google-gax')), '..', 'protos');
const pubsubProtos = path.join(path.dirname(require.resolve('@google-cloud/pubsub')), '..', 'protos');
const secretProtos = path.join(path.dirname(require.resolve('@google-cloud/secret-manager')), '..', 'protos');

function loadService(includeDir: string, file: string, servicePath: string[]): grpc.ServiceDefinition {
  const definition = protoLoader.loadSync(file, {
    includeDirs: [includeDir, gaxProtos],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  let node: unknown = grpc.loadPackageDefinition(definition);
  for (const key of servicePath) node = (node as Record<string, unknown>)[key];
  return (node as { service: grpc.ServiceDefinition }).service;
}

abstract class GrpcFake {
  protected server = new grpc.Server();
  port = 0;

  async start(): Promise<string> {
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) =>
        error ? reject(error) : resolve(port),
      ),
    );
    return `127.0.0.1:${this.port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.tryShutdown(() => resolve()));
  }
}

export interface PublishedMessage {
  topic: string;
  data: unknown;
  attributes: Record<string, string>;
}

export class PubSubFake extends GrpcFake {
  readonly published: PublishedMessage[] = [];
  /** Set to make the next Publish calls fail with this gRPC status. */
  failWith: grpc.status | null = null;
  private nextId = 1;

  constructor() {
    super();
    const service = loadService(pubsubProtos, 'google/pubsub/v1/pubsub.proto', ['google', 'pubsub', 'v1', 'Publisher']);
    this.server.addService(service, {
      Publish: (
        call: grpc.ServerUnaryCall<
          { topic: string; messages: { data: Buffer; attributes: Record<string, string> }[] },
          unknown
        >,
        callback: grpc.sendUnaryData<unknown>,
      ) => {
        if (this.failWith !== null) {
          callback({ code: this.failWith, details: 'fake failure' });
          return;
        }
        const ids = call.request.messages.map((message) => {
          this.published.push({
            topic: call.request.topic,
            data: JSON.parse(Buffer.from(message.data).toString('utf8')),
            attributes: { ...message.attributes },
          });
          return String(this.nextId++);
        });
        callback(null, { messageIds: ids });
      },
    });
  }
}

export class SecretManagerFake extends GrpcFake {
  readonly accessed: string[] = [];
  /** Set to make the next calls fail with this gRPC status. */
  failWith: grpc.status | null = null;

  constructor(private readonly secrets: Record<string, string>) {
    super();
    const service = loadService(secretProtos, 'google/cloud/secretmanager/v1/service.proto', [
      'google',
      'cloud',
      'secretmanager',
      'v1',
      'SecretManagerService',
    ]);
    this.server.addService(service, {
      AccessSecretVersion: (
        call: grpc.ServerUnaryCall<{ name: string }, unknown>,
        callback: grpc.sendUnaryData<unknown>,
      ) => {
        const { name } = call.request;
        this.accessed.push(name);
        if (this.failWith !== null) {
          callback({ code: this.failWith, details: 'fake failure' });
          return;
        }
        const value = this.secrets[name];
        if (value === undefined)
          callback({ code: grpc.status.NOT_FOUND, details: `Secret [${name}] not found or has no versions.` });
        else callback(null, { name, payload: { data: Buffer.from(value, 'utf8') } });
      },
    });
  }
}
