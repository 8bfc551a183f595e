/* fuzz-invite.c: reading invite codes
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * An invite's checksum stops almost every random code at the door, so the
 * input is read two ways, as its first byte says: as the code itself
 * (typos, garbage, odd separators), or as the bytes inside one, given
 * their right checksum and written out in Crockford base32 here, which
 * takes the fuzzer past the checksum to the layout (versions, address
 * counts, families, lengths). An invite read must be written again by
 * tandem_invite_encode() and read back the same.
 */
#include <gio/gio.h>
#include <string.h>

#include "fuzz-common.h"
#include "tandem-invite.h"

/* The code for @payload: the format of tandem-invite.c, written again
 * from its description, so the target does not trust the encoder. */
static char *
code_for (const guint8 *payload,
          gsize         len)
{
  static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  g_autoptr(GChecksum) sha = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr(GByteArray) bytes = g_byte_array_new ();
  guint8 digest[32];
  gsize digest_len = sizeof digest;
  GString *code = g_string_new ("TANDEM");
  guint64 bits = 0;
  guint n_bits = 0, n_chars = 0;

  g_checksum_update (sha, payload, len);
  g_checksum_get_digest (sha, digest, &digest_len);
  g_byte_array_append (bytes, payload, len);
  g_byte_array_append (bytes, digest, 4);
  for (guint i = 0; i <= bytes->len; i++)
    {
      if (i < bytes->len)
        {
          bits = (bits << 8) | bytes->data[i];
          n_bits += 8;
        }
      else if (n_bits > 0)
        {
          bits <<= 5 - n_bits;   /* the last character, padded with zero bits */
          n_bits = 5;
        }
      while (n_bits >= 5)
        {
          n_bits -= 5;
          if (n_chars++ % 5 == 0)
            g_string_append_c (code, '-');
          g_string_append_c (code, alphabet[(bits >> n_bits) & 31]);
        }
    }
  return g_string_free (code, FALSE);
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autofree char *code = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemInvite) invite = NULL;
  g_autoptr(TandemInvite) again = NULL;
  g_autofree char *written = NULL;

  if (size == 0)
    return 0;
  if (data[0] & 1)
    code = code_for (data + 1, size - 1);
  else
    code = g_strndup ((const char *) data + 1, size - 1);

  invite = tandem_invite_decode (code, &error);
  fuzz_check ((invite == NULL) != (error == NULL), "an invite was neither read nor refused with a reason");
  if (invite == NULL)
    {
      fuzz_check (g_utf8_validate (error->message, -1, NULL), "the reason is not UTF-8: %s", error->message);
      return 0;
    }

  g_ptr_array_add (invite->addresses, NULL);
  written = tandem_invite_encode (invite->notebook_id, invite->key,
                                  (const char * const *) invite->addresses->pdata, &error);
  g_ptr_array_remove_index (invite->addresses, invite->addresses->len - 1);
  fuzz_check (written != NULL, "an invite read cannot be written again: %s", error ? error->message : "");
  again = tandem_invite_decode (written, &error);
  fuzz_check (again != NULL, "an invite written was refused: %s", error ? error->message : "");
  fuzz_check (g_str_equal (invite->notebook_id, again->notebook_id), "the notebook changed");
  fuzz_check (g_bytes_equal (invite->key, again->key), "the key changed");
  fuzz_check (invite->addresses->len == again->addresses->len, "the number of addresses changed");
  for (guint i = 0; i < invite->addresses->len; i++)
    fuzz_check (g_str_equal (invite->addresses->pdata[i], again->addresses->pdata[i]),
                "address %u changed: %s, %s", i, (char *) invite->addresses->pdata[i],
                (char *) again->addresses->pdata[i]);
  return 0;
}
