import { tlsPairRule } from './api.settings';

describe('tlsPairRule', () => {
  it.each([
    [{ ssl_certfile: '', ssl_keyfile: '', ssl_ca_certs: '' }, []],
    [{ ssl_certfile: '/c', ssl_keyfile: '/k', ssl_ca_certs: '/ca' }, []],
    [{ ssl_certfile: '/c', ssl_keyfile: '', ssl_ca_certs: '' }, ['ssl_keyfile']],
    [{ ssl_certfile: '', ssl_keyfile: '/k', ssl_ca_certs: '' }, ['ssl_certfile']],
    [{ ssl_certfile: '', ssl_keyfile: '', ssl_ca_certs: '/ca' }, ['ssl_ca_certs']],
  ])('%j → errors on %j', (values, paths) => {
    expect(tlsPairRule.check(values).map((e) => e.path)).toEqual(paths);
  });
});
