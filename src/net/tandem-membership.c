/* tandem-membership.c: proving that a peer holds a notebook's key
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every value here is an HMAC-SHA-256 under the notebook key, so nobody
 * without the key can make one or learn anything from one.
 *
 * A tag names a notebook without saying which: it is bound to a context
 * (the other side's nonce on a connection, the publishing peer's id in
 * DNS-SD) so that tags cannot be linked across contexts or replayed.
 *
 * A proof binds the key to both nonces, to the role of the prover and to
 * the two certificate fingerprints the verifier saw. A man in the middle
 * that terminates TLS shows each side its own certificate, so the
 * fingerprints the two ends saw differ and no proof it relays checks out;
 * the role stops a proof from being reflected back to its maker.
 */
#include "tandem-membership.h"

#include <gnutls/crypto.h>
#include <string.h>

/**
 * tandem_hex_encode:
 *
 * Returns: (transfer full): @data as lowercase hex digits
 */
char *
tandem_hex_encode (const guint8 *data,
                   gsize         len)
{
  static const char digits[] = "0123456789abcdef";
  char *hex = g_malloc (2 * len + 1);

  for (gsize i = 0; i < len; i++)
    {
      hex[2 * i] = digits[data[i] >> 4];
      hex[2 * i + 1] = digits[data[i] & 15];
    }
  hex[2 * len] = '\0';
  return hex;
}

static char *
hmac_hex (GBytes             *key,
          const char * const *parts,
          guint               n_parts)
{
  gsize key_len;
  const guint8 *key_data = g_bytes_get_data (key, &key_len);
  g_autoptr(GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA256, key_data, key_len);

  for (guint i = 0; i < n_parts; i++)
    {
      /* each part is NUL-terminated in the input, so "ab"+"c" != "a"+"bc" */
      g_hmac_update (hmac, (const guchar *) parts[i], strlen (parts[i]) + 1);
    }
  return g_strdup (g_hmac_get_string (hmac));
}

/**
 * tandem_membership_new_nonce:
 *
 * Returns: (transfer full): 32 random bytes as hex, for one connection
 */
char *
tandem_membership_new_nonce (void)
{
  guint8 bytes[32];

  /* GRand is not a cryptographic generator; a nonce must be unpredictable */
  if (gnutls_rnd (GNUTLS_RND_NONCE, bytes, sizeof bytes) != 0)
    g_error ("the system's random number generator failed");
  return tandem_hex_encode (bytes, sizeof bytes);
}

/**
 * tandem_membership_new_key:
 *
 * Returns: (transfer full): a new notebook key
 */
GBytes *
tandem_membership_new_key (void)
{
  guint8 key[TANDEM_NOTEBOOK_KEY_SIZE];

  if (gnutls_rnd (GNUTLS_RND_KEY, key, sizeof key) != 0)
    g_error ("the system's random number generator failed");
  return g_bytes_new (key, sizeof key);
}

/**
 * tandem_membership_tag:
 * @key: the notebook key
 * @context: what the tag is bound to
 *
 * Returns: (transfer full): 16 hex digits that name the notebook to those
 *   who hold @key, and to nobody else
 */
char *
tandem_membership_tag (GBytes     *key,
                       const char *context)
{
  const char *parts[] = { "tandem notebook tag v1", context };
  char *hex = hmac_hex (key, parts, G_N_ELEMENTS (parts));

  hex[16] = '\0';
  return hex;
}

static const char *
role_name (TandemRole role)
{
  return role == TANDEM_ROLE_CLIENT ? "client" : "server";
}

/**
 * tandem_membership_proof:
 *
 * Returns: (transfer full): the prover's proof, 64 hex digits
 */
char *
tandem_membership_proof (GBytes     *key,
                         TandemRole  prover,
                         const char *prover_nonce,
                         const char *verifier_nonce,
                         const char *client_fingerprint,
                         const char *server_fingerprint)
{
  const char *parts[] = {
    "tandem membership proof v1", role_name (prover), prover_nonce, verifier_nonce,
    client_fingerprint, server_fingerprint,
  };

  return hmac_hex (key, parts, G_N_ELEMENTS (parts));
}

/**
 * tandem_membership_check:
 *
 * Returns: whether @proof is what a holder of @key would have made, with
 *   the fingerprints as the verifier saw them
 */
gboolean
tandem_membership_check (GBytes     *key,
                         const char *proof,
                         TandemRole  prover,
                         const char *prover_nonce,
                         const char *verifier_nonce,
                         const char *client_fingerprint,
                         const char *server_fingerprint)
{
  g_autofree char *expected = tandem_membership_proof (key, prover, prover_nonce, verifier_nonce,
                                                       client_fingerprint, server_fingerprint);
  guint8 diff = 0;

  if (proof == NULL || strlen (proof) != strlen (expected))
    return FALSE;
  /* in constant time, so timing tells nothing about the expected value */
  for (gsize i = 0; expected[i]; i++)
    diff |= (guint8) (expected[i] ^ proof[i]);
  return diff == 0;
}
