// What gRPC server reflection serves: the descriptor set `make proto` builds from proto/ (buf build,
// imports included), loaded into the form @grpc/reflection takes.
import { readFileSync } from 'node:fs';
import { loadFileDescriptorSetFromBuffer, type PackageDefinition } from '@grpc/proto-loader';

export function reflectionPackageDefinition(): PackageDefinition {
  return loadFileDescriptorSetFromBuffer(readFileSync(new URL('../descriptors.binpb', import.meta.url)));
}
