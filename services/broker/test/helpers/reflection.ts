// A gRPC server-reflection client (grpc.reflection.v1), built from the reflection proto that ships
// with @grpc/reflection: what grpcurl does to find services without the protos.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { credentials, loadPackageDefinition, Metadata, type ServiceClientConstructor, type ClientDuplexStream } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

interface ReflectionResponse {
  list_services_response?: { service: { name: string }[] };
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  error_response?: { error_code: number; error_message: string };
}

type ReflectionStream = ClientDuplexStream<Record<string, string>, ReflectionResponse>;

/** Asks the server one reflection question on a fresh stream, with the given metadata. */
export async function reflect(address: string, request: Record<string, string>, metadata = new Metadata()): Promise<ReflectionResponse> {
  const root = join(dirname(createRequire(import.meta.url).resolve('@grpc/reflection/package.json')), 'build/proto');
  const pkg = loadPackageDefinition(loadSync(join(root, 'grpc/reflection/v1/reflection.proto'), { keepCase: true, defaults: true, includeDirs: [root] })) as unknown as {
    grpc: { reflection: { v1: { ServerReflection: ServiceClientConstructor } } };
  };
  const client = new pkg.grpc.reflection.v1.ServerReflection(address, credentials.createInsecure()) as unknown as {
    ServerReflectionInfo(md: Metadata): ReflectionStream;
    close(): void;
  };
  try {
    return await new Promise((resolve, reject) => {
      const stream = client.ServerReflectionInfo(metadata);
      stream.on('data', (r: ReflectionResponse) => {
        resolve(r);
        stream.end();
      });
      stream.on('error', reject);
      stream.write(request);
    });
  } finally {
    client.close();
  }
}
