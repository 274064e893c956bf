/**
 * spice-html5's ticket encryption (patched): the SPICE password is RSA-OAEP (SHA-1) encrypted
 * with the key the server sends at link time and must arrive as exactly 128 bytes. Unpatched,
 * a ciphertext whose first byte is zero (about 1 in 256) lost that byte and was padded on the
 * right, so the server could not decrypt it and refused the login with "Permission denied".
 * The test encrypts until it has seen several such ciphertexts and decrypts every ticket, as
 * sent on the wire, with Node's RSA-OAEP.
 */
import assert from 'node:assert/strict';
import { constants, generateKeyPairSync, privateDecrypt } from 'node:crypto';
import { test } from 'node:test';
import { installBrowserStubs } from './spice-stubs';

installBrowserStubs();
const { create_rsa_from_mb, rsa_encrypt } = await import('@spice-project/spice-html5/src/ticket.js');
const { SpiceLinkAuthTicket } = await import('@spice-project/spice-html5/src/spicemsg.js');

test('every ticket decrypts, including those whose ciphertext starts with a zero byte', () => {
  // spice-server's key: 1024-bit RSA, sent as a DER SubjectPublicKeyInfo.
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const key = create_rsa_from_mb(der.buffer.slice(der.byteOffset, der.byteOffset + der.byteLength));
  assert.ok(key, 'spice-html5 reads the public key');

  let leadingZero = 0;
  let tickets = 0;
  const failures: string[] = [];
  for (; tickets < 40_000 && leadingZero < 4; tickets++) {
    const password = `pw-${tickets}-${Math.random().toString(36).slice(2)}`;
    const encrypted = rsa_encrypt(key!, password + String.fromCharCode(0));
    assert.ok(encrypted);
    if (encrypted!.length < 128 || encrypted![0] === 0) leadingZero++;

    // What send_ticket puts on the wire: a 4-byte auth mechanism, then 128 bytes of ticket.
    const ticket = new SpiceLinkAuthTicket();
    ticket.auth_mechanism = 1;
    ticket.encrypted_data = encrypted!;
    const wire = new ArrayBuffer(ticket.buffer_size());
    ticket.to_buffer(wire);
    try {
      const plain = privateDecrypt(
        { key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
        Buffer.from(wire, 4, 128),
      );
      if (plain.toString('latin1') !== password + '\0') failures.push(`${password}: decrypted to something else`);
    } catch (error) {
      failures.push(`${password}: ${(error as Error).message}`);
    }
  }
  assert.ok(leadingZero >= 4, `saw ${leadingZero} ciphertexts starting with a zero byte in ${tickets} tickets`);
  assert.deepEqual(failures, [], `${failures.length} of ${tickets} tickets could not be decrypted`);
});
