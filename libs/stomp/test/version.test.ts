// CONNECT-time decisions: version negotiation and heart-beat header parsing.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { negotiateVersion, parseHeartBeat, SUPPORTED_VERSIONS, type StompVersion } from '@stompede/stomp';

describe('negotiateVersion', () => {
  const cases: Array<[string | undefined, StompVersion | null]> = [
    [undefined, '1.0'], // spec: no accept-version means a 1.0 client
    ['1.0', '1.0'],
    ['1.1', '1.1'],
    ['1.2', '1.2'],
    ['1.0,1.1,2.0', '1.1'],
    ['1.2,1.1', '1.2'],
    ['1.1,1.2', '1.2'], // highest common, not the client's first
    ['1.0,1.1,1.2', '1.2'],
    [' 1.1 , 1.0 ', '1.1'],
    ['2.0, 1.2\t', '1.2'],
    ['3.0', null],
    ['2.0,3.0', null],
    ['', null],
    [',', null],
    ['1.20', null],
    ['1', null],
    ['v1.2', null],
    ['1.2.0', null],
  ];
  for (const [header, expected] of cases) {
    test(`${JSON.stringify(header)} -> ${expected}`, () => {
      assert.equal(negotiateVersion(header), expected);
    });
  }

  test('supported versions are listed highest first', () => {
    assert.deepEqual(SUPPORTED_VERSIONS, ['1.2', '1.1', '1.0']);
  });
});

describe('parseHeartBeat', () => {
  const valid: Array<[string | undefined, number, number]> = [
    [undefined, 0, 0], // spec: a missing heart-beat means 0,0
    ['0,0', 0, 0],
    ['10000,5000', 10000, 5000],
    ['0,1', 0, 1],
    ['2147483647,2147483647', 2147483647, 2147483647],
  ];
  for (const [header, sendMs, receiveMs] of valid) {
    test(`${JSON.stringify(header)} -> ${sendMs},${receiveMs}`, () => {
      assert.deepEqual(parseHeartBeat(header), { sendMs, receiveMs });
    });
  }

  const invalid = [
    'abc', '1', '-1,0', '0,-1', '1,2,3', ' 1,2', '1,2 ', '1 ,2', '1, 2', '', ',', '1,', ',1',
    '1.5,0', '0x10,0', '+1,0', '1e3,0', '2147483648,0', '0,99999999999', '１,２',
  ];
  for (const header of invalid) {
    test(`${JSON.stringify(header)} is invalid`, () => {
      assert.equal(parseHeartBeat(header), null);
    });
  }
});
