// The key a client address is counted under, wherever the node counts per address: connection
// admission (services/broker) and failed logins (throttle.ts). One function, so that no client is
// limited under one spelling of its address and free under another. An IPv6 client is counted per
// /64 because one host usually holds a whole /64: counting single addresses would let it rotate
// through 2^64 of them. It lives here, below both users, because libs/auth must not import the
// service.
import { isIPv4, isIPv6 } from 'node:net';

/**
 * IPv4 as is; IPv4-mapped IPv6 in any spelling (node writes ::ffff:1.2.3.4, uWS
 * 0000:...:ffff:0102:0304) as that IPv4; other IPv6 by its /64, with its zone id (fe80::1%eth0)
 * when it has one, since the same link-local prefix on two interfaces is two networks. Anything
 * else (not an IP address) is returned unchanged.
 */
export function addressKey(remote: string): string {
  if (isIPv4(remote) || !isIPv6(remote)) return remote;
  const zoneAt = remote.indexOf('%');
  const address = zoneAt < 0 ? remote : remote.slice(0, zoneAt);
  const zone = zoneAt < 0 ? '' : remote.slice(zoneAt);
  const g = ipv6Groups(address);
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    return [g[6]! >> 8, g[6]! & 0xff, g[7]! >> 8, g[7]! & 0xff].join('.');
  }
  return `${g.slice(0, 4).map((x) => x.toString(16)).join(':')}::/64${zone}`;
}

/** The eight 16-bit groups of a valid IPv6 address without zone (a trailing dotted IPv4 becomes the last two). */
function ipv6Groups(address: string): number[] {
  const parse = (part: string): number[] => {
    if (part === '') return [];
    return part.split(':').flatMap((p) => {
      if (!p.includes('.')) return [parseInt(p, 16)];
      const [a, b, c, d] = p.split('.').map(Number) as [number, number, number, number];
      return [(a << 8) | b, (c << 8) | d];
    });
  };
  const [head = '', tail] = address.split('::');
  const front = parse(head);
  const back = tail === undefined ? [] : parse(tail);
  return [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
}
