import { GATEWAY_PROXY_ADDRESS, isLoopback, resolveTarget, sourceAddresses, TargetError } from './target';

const lookupOf =
  (...addresses: string[]) =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('resolveTarget', () => {
  it('accepts a loopback name and connects to the IPv4 loopback address it resolves to', async () => {
    const t = await resolveTarget('https://localhost:8443', {
      allowRemote: false,
      lookup: lookupOf('::1', '127.0.0.1'),
    });
    expect(t).toMatchObject({ loopback: true, origin: 'https://127.0.0.1:8443', address: '127.0.0.1' });
  });

  it.each(['https://10.0.0.5:8443', 'https://192.168.1.10', 'https://[2001:db8::1]:8443'])(
    'refuses the non-loopback %s without --allow-remote-target',
    async (url) => {
      await expect(resolveTarget(url, { allowRemote: false })).rejects.toThrow(/--allow-remote-target/);
    },
  );

  it('refuses a name that resolves to any non-loopback address', async () => {
    await expect(
      resolveTarget('https://gateway.example:8443', {
        allowRemote: false,
        lookup: lookupOf('127.0.0.1', '203.0.113.7'),
      }),
    ).rejects.toThrow(TargetError);
  });

  it('with --allow-remote-target, takes a remote target as given', async () => {
    const t = await resolveTarget('https://gateway.example', {
      allowRemote: true,
      lookup: lookupOf('203.0.113.7'),
    });
    expect(t).toMatchObject({ loopback: false, origin: 'https://gateway.example' });
  });

  it.each(['ftp://localhost', 'https://localhost:8443/api', 'not a url'])('refuses %s', async (url) => {
    await expect(resolveTarget(url, { allowRemote: true, lookup: lookupOf('127.0.0.1') })).rejects.toThrow(
      TargetError,
    );
  });
});

describe('isLoopback', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.255.3.4', true],
    ['::1', true],
    ['::ffff:127.0.0.9', true],
    ['128.0.0.1', false],
    ['10.0.0.1', false],
    ['::2', false],
  ])('%s → %s', (address, expected) => {
    expect(isLoopback(address)).toBe(expected);
  });
});

describe('sourceAddresses', () => {
  const loopback4 = { url: 'x', origin: 'https://127.0.0.1:1', loopback: true, address: '127.0.0.1' };

  it('gives distinct loopback addresses, never the gateway’s proxy address', () => {
    const sources = sourceAddresses(loopback4, 600);
    expect(sources).toHaveLength(600);
    expect(new Set(sources).size).toBe(600);
    expect(sources).not.toContain(GATEWAY_PROXY_ADDRESS);
    for (const s of sources) expect(isLoopback(s!)).toBe(true);
  });

  it('for a remote or IPv6 target, lets the OS choose', () => {
    expect(sourceAddresses({ ...loopback4, loopback: false }, 10)).toEqual([undefined]);
    expect(sourceAddresses({ ...loopback4, address: '::1' }, 10)).toEqual([undefined]);
  });
});
