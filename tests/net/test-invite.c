/* test-invite.c: invite codes for shared notebooks
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * An invite is typed and pasted by people, so besides round trips the
 * tests make the mistakes people make: every single-character change,
 * swapped neighbours, a code cut short at every length, stray text around
 * it. A change must either be one the format forgives (case, separators,
 * I/L/O) and decode to the same invite, or be refused with an error.
 *
 * The tests pack bytes into codes with their own base32 writer, written
 * bit by bit unlike the library's, so a crafted invite (a newer version,
 * an unknown address family) gets a valid checksum and reaches the checks
 * behind it, and /net/invite/format pins the layout.
 */
#include <string.h>

#include <gio/gio.h>

#include "tandem-invite.h"

#define ID "00112233445566778899aabbccddeeff"
#define V4 "192.0.2.1:7000"
#define V6 "[2001:db8::1]:443"

#define MSG_TYPO "The invite has a typo (its checksum does not match)"
#define MSG_INCOMPLETE "The invite is incomplete"
#define MSG_EXTRA "The invite has extra characters at its end"

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* ---- helpers ------------------------------------------------------------ */

static GBytes *
sample_key (guint8 seed)
{
  guint8 key[TANDEM_NOTEBOOK_KEY_SIZE];

  for (guint i = 0; i < sizeof key; i++)
    key[i] = (guint8) (seed + 7 * i);
  return g_bytes_new (key, sizeof key);
}

/* What the test expects @c to stand for, or -1. */
static int
crockford_value (char c)
{
  const char *found;

  c = g_ascii_toupper (c);
  if (c == 'I' || c == 'L')
    return 1;
  if (c == 'O')
    return 0;
  found = c != '\0' ? strchr (crockford, c) : NULL;
  return found ? (int) (found - crockford) : -1;
}

static gboolean
is_separator (char c)
{
  return c == '-' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* "TANDEM" and @len bytes as base32, one bit at a time. */
static char *
pack (const guint8 *bytes,
      gsize         len)
{
  GString *code = g_string_new ("TANDEM");
  gsize n_bits = 8 * len;
  gsize n_chars = 0;

  for (gsize bit = 0; bit < n_bits; bit += 5)
    {
      guint value = 0;

      for (gsize b = bit; b < bit + 5; b++)
        value = value << 1 | (b < n_bits ? (bytes[b / 8] >> (7 - b % 8)) & 1 : 0);
      if (n_chars++ % 5 == 0)
        g_string_append_c (code, '-');
      g_string_append_c (code, crockford[value]);
    }
  return g_string_free (code, FALSE);
}

/* @payload with its checksum, as a code. */
static char *
pack_checked (GByteArray *payload)
{
  g_autoptr(GChecksum) sha = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr(GByteArray) all = g_byte_array_new ();
  guint8 digest[32];
  gsize digest_len = sizeof digest;

  g_checksum_update (sha, payload->data, payload->len);
  g_checksum_get_digest (sha, digest, &digest_len);
  g_byte_array_append (all, payload->data, payload->len);
  g_byte_array_append (all, digest, 4);
  return pack (all->data, all->len);
}

static void
append_byte (GByteArray *array,
             guint8      byte)
{
  g_byte_array_append (array, &byte, 1);
}

/* A version 1 payload for ID and sample_key (1), without addresses. */
static GByteArray *
sample_payload (guint8 n_addresses)
{
  GByteArray *payload = g_byte_array_new ();
  g_autoptr(GBytes) key = sample_key (1);

  append_byte (payload, 1);
  for (guint i = 0; i < 16; i++)
    append_byte (payload, (guint8) (0x11 * i));
  g_byte_array_append (payload, g_bytes_get_data (key, NULL), g_bytes_get_size (key));
  append_byte (payload, n_addresses);
  return payload;
}

static gsize
expected_code_len (guint n_ipv4,
                   guint n_ipv6)
{
  gsize n_bytes = 1 + 16 + 32 + 1 + 7 * n_ipv4 + 19 * n_ipv6 + 4;
  gsize n_chars = (8 * n_bytes + 4) / 5;

  /* the prefix, the characters and a dash before each group */
  return strlen ("TANDEM") + n_chars + (n_chars + 4) / 5;
}

static void
assert_shape (const char *code)
{
  gsize i;

  g_assert_true (g_str_has_prefix (code, "TANDEM-"));
  for (i = strlen ("TANDEM"); code[i] != '\0'; i++)
    {
      gsize in_group = (i - strlen ("TANDEM")) % 6;

      if (in_group == 0)
        g_assert_cmpint (code[i], ==, '-');
      else
        g_assert_nonnull (strchr (crockford, code[i]));
    }
  g_assert_cmpint (code[i - 1], !=, '-');
}

static void
assert_invite (const TandemInvite  *invite,
               const char          *id,
               GBytes              *key,
               const char * const  *addresses)
{
  guint n = addresses ? g_strv_length ((char **) addresses) : 0;

  g_assert_nonnull (invite);
  g_assert_cmpstr (invite->notebook_id, ==, id);
  g_assert_true (g_bytes_equal (invite->key, key));
  g_assert_nonnull (invite->addresses);
  g_assert_cmpuint (invite->addresses->len, ==, n);
  for (guint i = 0; i < n; i++)
    g_assert_cmpstr (g_ptr_array_index (invite->addresses, i), ==, addresses[i]);
}

static gboolean
invites_equal (const TandemInvite *a,
               const TandemInvite *b)
{
  if (g_strcmp0 (a->notebook_id, b->notebook_id) != 0 || !g_bytes_equal (a->key, b->key)
      || a->addresses->len != b->addresses->len)
    return FALSE;
  for (guint i = 0; i < a->addresses->len; i++)
    {
      if (g_strcmp0 (g_ptr_array_index (a->addresses, i), g_ptr_array_index (b->addresses, i)) != 0)
        return FALSE;
    }
  return TRUE;
}

static char *
encode_ok (const char         *id,
           GBytes             *key,
           const char * const *addresses)
{
  g_autoptr(GError) error = NULL;
  char *code = tandem_invite_encode (id, key, addresses, &error);

  g_assert_no_error (error);
  g_assert_nonnull (code);
  return code;
}

/* Encodes what @invite holds. */
static char *
reencode (const TandemInvite *invite)
{
  g_autoptr(GPtrArray) addresses = g_ptr_array_new ();

  for (guint i = 0; i < invite->addresses->len; i++)
    g_ptr_array_add (addresses, g_ptr_array_index (invite->addresses, i));
  g_ptr_array_add (addresses, NULL);
  return encode_ok (invite->notebook_id, invite->key, (const char * const *) addresses->pdata);
}

/* Decoding @code fails, with @message if it is not %NULL. */
static void
assert_decode_fails (const char *code,
                     const char *message)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemInvite) invite = tandem_invite_decode (code, &error);

  g_assert_null (invite);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  g_assert_cmpstr (error->message, !=, "");
  if (message != NULL)
    g_assert_cmpstr (error->message, ==, message);
}

static TandemInvite *
decode_ok (const char *code)
{
  g_autoptr(GError) error = NULL;
  TandemInvite *invite = tandem_invite_decode (code, &error);

  g_assert_no_error (error);
  g_assert_nonnull (invite);
  return invite;
}

/* ---- round trips -------------------------------------------------------- */

static void
roundtrip (const char * const *addresses,
           guint               n_ipv4,
           guint               n_ipv6)
{
  g_autoptr(GBytes) key = sample_key (3);
  g_autofree char *code = encode_ok (ID, key, addresses);
  g_autoptr(TandemInvite) invite = decode_ok (code);

  g_test_message ("%s (%zu characters)", code, strlen (code));
  assert_shape (code);
  g_assert_cmpuint (strlen (code), ==, expected_code_len (n_ipv4, n_ipv6));
  assert_invite (invite, ID, key, addresses);
}

static void
test_roundtrip_none (void)
{
  const char *none[] = { NULL };

  roundtrip (NULL, 0, 0);
  roundtrip (none, 0, 0);
}

static void
test_roundtrip_one (void)
{
  const char *v4[] = { V4, NULL };
  const char *v6[] = { V6, NULL };

  roundtrip (v4, 1, 0);
  roundtrip (v6, 0, 1);
}

static void
test_roundtrip_four (void)
{
  const char *mixed[] = { "10.0.0.7:1", "[fe80::1ff:fe23:4567:890a]:65535", "255.255.255.255:80", "[::]:7", NULL };
  const char *all_v6[] = { "[::1]:1", "[2001:db8::1]:2", "[::ffff:192.0.2.1]:3", "[ff02::fb]:5353", NULL };

  roundtrip (mixed, 2, 2);
  roundtrip (all_v6, 0, 4);
}

/* Random ids, keys and addresses. */
static void
test_roundtrip_random (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);

  for (guint iter = 0; iter < 500; iter++)
    {
      guint8 key_data[TANDEM_NOTEBOOK_KEY_SIZE], id_data[16];
      g_autoptr(GBytes) key = NULL;
      g_autofree char *id = NULL;
      g_autoptr(GPtrArray) addresses = g_ptr_array_new_with_free_func (g_free);
      g_autofree char *code = NULL;
      g_autoptr(TandemInvite) invite = NULL;
      guint n = g_rand_int_range (rand, 0, TANDEM_INVITE_MAX_ADDRESSES + 1);
      guint n_ipv6 = 0;

      for (guint i = 0; i < sizeof key_data; i++)
        key_data[i] = (guint8) g_rand_int_range (rand, 0, 256);
      for (guint i = 0; i < sizeof id_data; i++)
        id_data[i] = (guint8) g_rand_int_range (rand, 0, 256);
      key = g_bytes_new (key_data, sizeof key_data);
      id = tandem_hex_encode (id_data, sizeof id_data);

      for (guint i = 0; i < n; i++)
        {
          guint8 bytes[16];
          gboolean ipv6 = g_rand_boolean (rand);
          g_autoptr(GInetAddress) inet = NULL;
          g_autofree char *host = NULL;
          guint port = g_rand_int_range (rand, 1, 65536);

          for (guint j = 0; j < sizeof bytes; j++)
            bytes[j] = (guint8) g_rand_int_range (rand, 0, 256);
          inet = g_inet_address_new_from_bytes (bytes, ipv6 ? G_SOCKET_FAMILY_IPV6 : G_SOCKET_FAMILY_IPV4);
          host = g_inet_address_to_string (inet);
          g_ptr_array_add (addresses, ipv6 ? g_strdup_printf ("[%s]:%u", host, port)
                                           : g_strdup_printf ("%s:%u", host, port));
          n_ipv6 += ipv6;
        }
      g_ptr_array_add (addresses, NULL);

      code = encode_ok (id, key, (const char * const *) addresses->pdata);
      assert_shape (code);
      g_assert_cmpuint (strlen (code), ==, expected_code_len (n - n_ipv6, n_ipv6));
      invite = decode_ok (code);
      assert_invite (invite, id, key, (const char * const *) addresses->pdata);
    }
}

/* Addresses come back in GLib's canonical form. */
static void
test_roundtrip_canonical (void)
{
  const char *written[] = { "[2001:DB8:0:0::1]:443", "[0:0:0:0:0:ffff:c000:201]:80", "192.0.2.1:0000080", NULL };
  const char *read[] = { "[2001:db8::1]:443", "[::ffff:192.0.2.1]:80", "192.0.2.1:80", NULL };
  g_autoptr(GBytes) key = sample_key (3);
  g_autofree char *code = encode_ok (ID, key, written);
  g_autoptr(TandemInvite) invite = decode_ok (code);

  assert_invite (invite, ID, key, read);
}

/* The layout, byte for byte, against a payload built by hand. */
static void
test_format (void)
{
  const char *addresses[] = { V4, V6, NULL };
  static const guint8 v4[] = { 4, 192, 0, 2, 1, 7000 >> 8, 7000 & 0xff };
  static const guint8 v6[] = { 6, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 443 >> 8, 443 & 0xff };
  g_autoptr(GBytes) key = sample_key (1);
  g_autoptr(GByteArray) payload = sample_payload (2);
  g_autofree char *expected = NULL;
  g_autofree char *code = NULL;
  g_autofree char *bare = NULL;

  g_byte_array_append (payload, v4, sizeof v4);
  g_byte_array_append (payload, v6, sizeof v6);
  expected = pack_checked (payload);
  code = encode_ok (ID, key, addresses);
  g_assert_cmpstr (code, ==, expected);

  /* the version byte, 1, makes every invite start the same */
  g_assert_true (g_str_has_prefix (code, "TANDEM-04"));

  bare = encode_ok (ID, key, NULL);
  g_test_message ("no addresses: %s (%zu characters)", bare, strlen (bare));
  g_test_message ("two addresses: %s (%zu characters)", code, strlen (code));
}

/* ---- forgiving reading -------------------------------------------------- */

static void
test_forgiving (void)
{
  const char *addresses[] = { V4, V6, NULL };
  g_autoptr(GBytes) key = sample_key (1);
  g_autofree char *code = encode_ok (ID, key, addresses);
  g_autofree char *lower = g_ascii_strdown (code, -1);
  g_autoptr(GString) spaced = g_string_new ("  ");
  g_autoptr(GString) lines = g_string_new ("\n");
  g_autoptr(GString) bare = g_string_new (NULL);
  g_autoptr(GString) lookalikes = g_string_new (NULL);
  guint n_lookalikes = 0;
  const char *variants[5];

  for (const char *p = code; *p; p++)
    {
      /* spaces for dashes, and a line break every 23 characters */
      g_string_append_c (spaced, *p == '-' ? ' ' : *p);
      if (*p != '-')
        g_string_append_c (bare, *p);
      g_string_append_c (lines, *p);
      if ((p - code) % 23 == 22)
        g_string_append (lines, (p - code) % 2 ? "\r\n" : "\n\t");
      switch (*p)
        {
        case '1':
          g_string_append_c (lookalikes, "ILil"[n_lookalikes++ % 4]);
          break;
        case '0':
          g_string_append_c (lookalikes, "Oo"[n_lookalikes++ % 2]);
          break;
        default:
          g_string_append_c (lookalikes, *p);
        }
    }
  g_string_append (spaced, " \n");
  /* or the test would not test the look-alikes */
  g_assert_cmpuint (n_lookalikes, >=, 4);

  variants[0] = lower;
  variants[1] = spaced->str;
  variants[2] = lines->str;
  variants[3] = bare->str;
  variants[4] = lookalikes->str;
  for (guint i = 0; i < G_N_ELEMENTS (variants); i++)
    {
      g_autoptr(TandemInvite) invite = decode_ok (variants[i]);

      assert_invite (invite, ID, key, addresses);
    }
}

/* ---- typos -------------------------------------------------------------- */

static char *
two_address_code (void)
{
  const char *addresses[] = { V4, V6, NULL };
  g_autoptr(GBytes) key = sample_key (1);

  return encode_ok (ID, key, addresses);
}

/* Every character of a code replaced by every byte: only the forgiven
 * replacements decode, to the same invite. */
static void
test_substitutions (void)
{
  g_autofree char *code = two_address_code ();
  g_autoptr(TandemInvite) original = decode_ok (code);
  gsize len = strlen (code);
  guint n_forgiven = 0, n_refused_data = 0, n_typo = 0;

  for (gsize i = 0; i < len; i++)
    {
      for (guint c = 1; c < 256; c++)
        {
          g_autofree char *changed = g_strdup (code);
          g_autoptr(GError) error = NULL;
          g_autoptr(TandemInvite) invite = NULL;
          gboolean forgiven;

          if ((char) c == code[i])
            continue;
          changed[i] = (char) c;
          if (i < strlen ("TANDEM"))
            forgiven = g_ascii_toupper ((char) c) == code[i];
          else if (code[i] == '-')
            forgiven = is_separator ((char) c);
          else
            forgiven = crockford_value ((char) c) == crockford_value (code[i]);

          invite = tandem_invite_decode (changed, &error);
          if (forgiven)
            {
              g_assert_no_error (error);
              g_assert_true (invites_equal (invite, original));
              n_forgiven++;
            }
          else
            {
              g_assert_null (invite);
              g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
              if (code[i] != '-' && i >= strlen ("TANDEM") && crockford_value ((char) c) >= 0)
                {
                  /* a data character turned into another: caught by the
                   * checksum, or by the length the changed layout wants */
                  g_assert_true (g_str_equal (error->message, MSG_TYPO)
                                 || g_str_equal (error->message, MSG_INCOMPLETE));
                  n_typo += g_str_equal (error->message, MSG_TYPO);
                  n_refused_data++;
                }
            }
        }
    }

  g_test_message ("%u forgiven, %u data typos refused (%u by the checksum)",
                  n_forgiven, n_refused_data, n_typo);
  /* every data character has 31 wrong values */
  g_assert_cmpuint (n_refused_data, >, 31 * 100);
  g_assert_cmpuint (n_typo, >, n_refused_data * 9 / 10);
  g_assert_cmpuint (n_forgiven, >, 0);
}

/* Swapped neighbours, the other common typing slip, within a group and
 * across the dash between two. */
static void
test_transpositions (void)
{
  g_autofree char *code = two_address_code ();
  g_autoptr(GArray) positions = g_array_new (FALSE, FALSE, sizeof (gsize));
  guint n_swaps = 0;

  for (gsize i = strlen ("TANDEM"); code[i] != '\0'; i++)
    {
      if (code[i] != '-')
        g_array_append_val (positions, i);
    }

  for (guint k = 0; k + 1 < positions->len; k++)
    {
      gsize a = g_array_index (positions, gsize, k);
      gsize b = g_array_index (positions, gsize, k + 1);
      g_autofree char *swapped = NULL;

      if (code[a] == code[b])
        continue;
      swapped = g_strdup (code);
      swapped[a] = code[b];
      swapped[b] = code[a];
      assert_decode_fails (swapped, MSG_TYPO);
      n_swaps++;
    }
  g_assert_cmpuint (n_swaps, >, 80);
}

/* A last character with a padding bit set spells the same bytes, so only
 * the padding check can catch it. */
static void
test_padding (void)
{
  g_autoptr(GBytes) key = sample_key (1);
  g_autofree char *code = encode_ok (ID, key, NULL);
  gsize last = strlen (code) - 1;
  int value = crockford_value (code[last]);

  /* 54 bytes fill 87 characters with 3 bits to spare */
  g_assert_cmpuint (expected_code_len (0, 0), ==, last + 1);
  g_assert_cmpint (value & 7, ==, 0);
  for (int spare = 1; spare < 8; spare++)
    {
      code[last] = crockford[value | spare];
      assert_decode_fails (code, MSG_TYPO);
    }
}

/* ---- cut short, too long ------------------------------------------------ */

static void
test_truncated (void)
{
  const char *none[] = { NULL };
  const char *four[] = { V4, V6, "10.1.2.3:9", "[::1]:8", NULL };
  const char * const *sets[] = { none, four };

  for (guint s = 0; s < G_N_ELEMENTS (sets); s++)
    {
      g_autoptr(GBytes) key = sample_key (5);
      g_autofree char *code = encode_ok (ID, key, sets[s]);
      gsize len = strlen (code);

      assert_decode_fails ("", "Not a Tandem invite (it is empty)");
      for (gsize cut = 1; cut < len; cut++)
        {
          g_autofree char *prefix = g_strndup (code, cut);
          g_autofree char *deleted = g_strdup (code);

          assert_decode_fails (prefix, MSG_INCOMPLETE);

          /* one character left out, anywhere */
          memmove (deleted + cut, deleted + cut + 1, len - cut);
          if (code[cut] != '-')
            assert_decode_fails (deleted, NULL);
        }
    }
}

static void
test_extra (void)
{
  g_autofree char *code = two_address_code ();
  const char *tails[] = { "0", "-00000", "-ABCDE-FGH", "Z", "-TANDEM" };

  for (guint i = 0; i < G_N_ELEMENTS (tails); i++)
    {
      g_autofree char *longer = g_strconcat (code, tails[i], NULL);

      assert_decode_fails (longer, MSG_EXTRA);
    }

  /* pasted twice */
  {
    g_autofree char *twice = g_strconcat (code, "\n", code, NULL);

    assert_decode_fails (twice, MSG_EXTRA);
  }
}

/* ---- garbage ------------------------------------------------------------ */

static void
test_garbage (void)
{
  const struct
  {
    const char *code;
    const char *message;
  } cases[] = {
    { "   \n-- ", "Not a Tandem invite (it is empty)" },
    { "hello", "Not a Tandem invite (it does not start with “TANDEM-”)" },
    { "https://example.com/invite", "Not a Tandem invite (it does not start with “TANDEM-”)" },
    { "“TANDEM-04000”", "Not a Tandem invite (it does not start with “TANDEM-”)" },
    { "TANDEX-04000", "Not a Tandem invite (it does not start with “TANDEM-”)" },
    { "\xff\xfe\xfd", "Not a Tandem invite (it does not start with “TANDEM-”)" },
    { "TAND", MSG_INCOMPLETE },
    { "TANDEM", MSG_INCOMPLETE },
    { "TANDEM-", MSG_INCOMPLETE },
    { "TANDEM-0", MSG_INCOMPLETE },
    { "TANDEM-U0000", "“U” cannot be part of a Tandem invite" },
    { "TANDEM-04000-*", "“*” cannot be part of a Tandem invite" },
    { "TANDEM-04000_G40R3", "“_” cannot be part of a Tandem invite" },
    { "TANDEM-04000.", "“.” cannot be part of a Tandem invite" },
    { "TANDEM-04\xc3\x84", "The invite contains a character that cannot be part of one" },
    { "TANDEM-04\xc3\x28", "The invite contains a character that cannot be part of one" },
    { "TANDEM\xe2\x80\x94" "04000", "The invite contains a character that cannot be part of one" },
    { "TANDEM-04000\x01", "The invite contains a character that cannot be part of one" },
    { "TANDEM-04000\xff", "The invite contains a character that cannot be part of one" },
    { "TANDEM-ZZZZZ-ZZZZZ", MSG_TYPO },
    { "TANDEM-00000-00000-00000-00000-00000-00000-00000-00000-00000-00000-00000-00000-00000-00000-00000-00000-00000-00",
      MSG_TYPO },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    assert_decode_fails (cases[i].code, cases[i].message);
}

/* Invites with a valid checksum around what version 1 cannot hold. */
static void
test_crafted (void)
{
  static const guint8 v4[] = { 4, 192, 0, 2, 1, 0x1b, 0x58 };

  /* newer versions, of any length, and version 0 */
  for (guint version = 0; version < 256; version += 51)
    {
      g_autoptr(GByteArray) payload = g_byte_array_new ();
      g_autofree char *code = NULL;

      append_byte (payload, (guint8) version);
      for (guint i = 0; i < 150; i++)
        append_byte (payload, (guint8) i);
      code = pack_checked (payload);
      assert_decode_fails (code, version == 0 ? "The invite is malformed (it has version 0)"
                                              : "This invite was made by a newer Tandem");
    }
  {
    g_autoptr(GByteArray) payload = sample_payload (0);
    g_autofree char *code = NULL;

    payload->data[0] = 2;
    code = pack_checked (payload);
    assert_decode_fails (code, "This invite was made by a newer Tandem");
    /* the same with a typo is a typo */
    code[10] = code[10] == '0' ? '1' : '0';
    assert_decode_fails (code, MSG_TYPO);
  }

  /* too many addresses */
  {
    g_autoptr(GByteArray) payload = sample_payload (5);
    g_autofree char *code = NULL;

    for (guint i = 0; i < 5; i++)
      g_byte_array_append (payload, v4, sizeof v4);
    code = pack_checked (payload);
    assert_decode_fails (code, "The invite lists 5 addresses, more than the 4 it can hold");
  }

  /* an unknown family, in second place */
  {
    g_autoptr(GByteArray) payload = sample_payload (2);
    g_autofree char *code = NULL;

    g_byte_array_append (payload, v4, sizeof v4);
    g_byte_array_append (payload, v4, sizeof v4);
    payload->data[payload->len - sizeof v4] = 5;
    code = pack_checked (payload);
    assert_decode_fails (code, "Address 2 in the invite has an unknown family (5)");
  }

  /* port 0 */
  {
    g_autoptr(GByteArray) payload = sample_payload (1);
    g_autofree char *code = NULL;

    g_byte_array_append (payload, v4, sizeof v4);
    payload->data[payload->len - 1] = 0;
    payload->data[payload->len - 2] = 0;
    code = pack_checked (payload);
    assert_decode_fails (code, "Address 1 in the invite has port 0");
  }

  /* bytes after the addresses, inside the checksum */
  {
    g_autoptr(GByteArray) payload = sample_payload (1);
    g_autofree char *code = NULL;

    g_byte_array_append (payload, v4, sizeof v4);
    append_byte (payload, 0);
    code = pack_checked (payload);
    assert_decode_fails (code, "The invite is malformed (it holds more than its addresses)");
  }

  /* and the control: the same payload, well formed, decodes */
  {
    const char *addresses[] = { V4, NULL };
    g_autoptr(GBytes) key = sample_key (1);
    g_autoptr(GByteArray) payload = sample_payload (1);
    g_autofree char *code = NULL;
    g_autoptr(TandemInvite) invite = NULL;

    g_byte_array_append (payload, v4, sizeof v4);
    code = pack_checked (payload);
    invite = decode_ok (code);
    assert_invite (invite, ID, key, addresses);
  }
}

/* ---- bad input to encode ------------------------------------------------ */

static void
assert_encode_fails (const char         *id,
                     GBytes             *key,
                     const char * const *addresses)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *code = tandem_invite_encode (id, key, addresses, &error);

  g_assert_null (code);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
}

static void
test_encode_rejects (void)
{
  const char *bad_ids[] = {
    "", "0011223344556677889aabbccddeeff", "00112233445566778899aabbccddeeff0",
    "00112233445566778899AABBCCDDEEFF", "00112233445566778899aabbccddeefg",
    "00112233445566778899aabbccddee f", "0x112233445566778899aabbccddeeff",
  };
  const char *bad_addresses[] = {
    "", "192.0.2.1", "192.0.2.1:", "192.0.2.1:0", "192.0.2.1:65536", "192.0.2.1:100000",
    "192.0.2.1:4294967376", /* 2^32 + 80 */
    "192.0.2.1:+80", "192.0.2.1: 80", "192.0.2.1:80 ", "192.0.2.1:8o", "192.0.2.1:80:80",
    ":80", "192.0.2:80", "256.0.2.1:80", " 192.0.2.1:80", "example.com:80", "localhost:80",
    "2001:db8::1:443", "[192.0.2.1]:80", "[2001:db8::1]", "[2001:db8::1]443", "[2001:db8::1]:",
    "[2001:db8::1:443", "2001:db8::1]:443", "[fe80::1%eth0]:80", "[fe80::1%1]:80", "[]:80",
    "\xff\xfe:80", "192.0.2.1:80\xff",
  };
  const char *five[] = { V4, V4, V6, V6, V4, NULL };
  const char *four[] = { V4, V4, V6, V6, NULL };
  g_autoptr(GBytes) key = sample_key (1);
  g_autofree char *good = NULL;

  /* the control: what each case changes is all that is wrong with it */
  good = encode_ok (ID, key, four);

  for (guint i = 0; i < G_N_ELEMENTS (bad_ids); i++)
    assert_encode_fails (bad_ids[i], key, NULL);

  for (gsize size = 0; size <= 64; size++)
    {
      g_autofree guint8 *data = g_malloc0 (size + 1);
      g_autoptr(GBytes) bad_key = g_bytes_new (data, size);

      if (size != TANDEM_NOTEBOOK_KEY_SIZE)
        assert_encode_fails (ID, bad_key, NULL);
    }

  assert_encode_fails (ID, key, five);

  for (guint i = 0; i < G_N_ELEMENTS (bad_addresses); i++)
    {
      /* alone, and after a good one */
      const char *alone[] = { bad_addresses[i], NULL };
      const char *second[] = { V4, bad_addresses[i], NULL };

      assert_encode_fails (ID, key, alone);
      assert_encode_fails (ID, key, second);
    }
}

/* ---- fuzz --------------------------------------------------------------- */

static void
mutate (GString *code,
        GRand   *rand)
{
  static const char pool[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZabcxyzILOilouU- \n\t*#[]:";
  gsize n = code->len;
  gsize at = n ? g_rand_int_range (rand, 0, n) : 0;

  switch (g_rand_int_range (rand, 0, 7))
    {
    case 0:       /* replace a character from the pool */
      if (n)
        code->str[at] = pool[g_rand_int_range (rand, 0, sizeof pool - 1)];
      break;
    case 1:       /* replace a character with any byte but NUL */
      if (n)
        code->str[at] = (char) g_rand_int_range (rand, 1, 256);
      break;
    case 2:       /* delete a few */
      if (n)
        {
          gsize len = g_rand_int_range (rand, 1, 4);

          g_string_erase (code, at, MIN (len, n - at));
        }
      break;
    case 3:       /* insert one from the pool */
      g_string_insert_c (code, at, pool[g_rand_int_range (rand, 0, sizeof pool - 1)]);
      break;
    case 4:       /* swap neighbours */
      if (at + 1 < n)
        {
          char c = code->str[at];

          code->str[at] = code->str[at + 1];
          code->str[at + 1] = c;
        }
      break;
    case 5:       /* cut the end off */
      g_string_truncate (code, at);
      break;
    default:      /* change case, or write a look-alike: forgiven */
      if (n)
        {
          char c = code->str[at];

          code->str[at] = c == '1' ? 'l' : c == '0' ? 'O' : g_ascii_tolower (c);
        }
      break;
    }
}

/* A payload with a valid checksum that mostly follows the version 1
 * layout, so that decoding gets past the checksum to the checks behind. */
static GByteArray *
random_payload (GRand *rand)
{
  GByteArray *payload = g_byte_array_new ();
  guint n = g_rand_int_range (rand, 0, 6);

  append_byte (payload, g_rand_int_range (rand, 0, 10) ? 1 : (guint8) g_rand_int_range (rand, 0, 256));
  for (guint i = 0; i < 16 + 32; i++)
    append_byte (payload, (guint8) g_rand_int_range (rand, 0, 256));
  append_byte (payload, (guint8) n);
  for (guint i = 0; i < n; i++)
    {
      guint r = g_rand_int_range (rand, 0, 20);
      guint8 family = r < 10 ? 4 : r < 19 ? 6 : (guint8) g_rand_int_range (rand, 0, 256);
      guint size = family == 6 ? 16 : 4;

      append_byte (payload, family);
      for (guint j = 0; j < size; j++)
        append_byte (payload, (guint8) g_rand_int_range (rand, 0, 256));
      /* port 0 now and then */
      append_byte (payload, (guint8) g_rand_int_range (rand, 0, 4));
      append_byte (payload, (guint8) g_rand_int_range (rand, 0, 256));
    }
  /* a byte too many or too few now and then */
  switch (g_rand_int_range (rand, 0, 20))
    {
    case 0:
      append_byte (payload, (guint8) g_rand_int_range (rand, 0, 256));
      break;
    case 1:
      g_byte_array_set_size (payload, payload->len - 1);
      break;
    default:
      break;
    }
  return payload;
}

static void
test_fuzz (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261122);
  g_autoptr(GPtrArray) corpus = g_ptr_array_new_with_free_func (g_free);
  const char *sets[][TANDEM_INVITE_MAX_ADDRESSES + 1] = {
    { NULL },
    { V4, NULL },
    { V6, V4, NULL },
    { V4, V6, "[::1]:2", "10.0.0.1:3", NULL },
  };
  guint n_ok = 0, n_refused = 0, n_crafted_ok = 0;

  for (guint i = 0; i < G_N_ELEMENTS (sets); i++)
    {
      g_autoptr(GBytes) key = sample_key ((guint8) i);

      g_ptr_array_add (corpus, encode_ok (ID, key, sets[i]));
    }

  for (guint iter = 0; iter < 20000; iter++)
    {
      g_autoptr(GString) input = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(TandemInvite) invite = NULL;
      const char *source = NULL;
      guint kind = g_rand_int_range (rand, 0, 10);

      if (kind < 5)
        {
          /* a real invite, mistyped */
          guint n_mutations = g_rand_int_range (rand, 1, 4);

          source = g_ptr_array_index (corpus, g_rand_int_range (rand, 0, corpus->len));
          input = g_string_new (source);
          for (guint m = 0; m < n_mutations; m++)
            mutate (input, rand);
        }
      else if (kind < 7)
        {
          /* noise, half of it after the prefix */
          guint len = g_rand_int_range (rand, 0, 250);

          input = g_string_new (g_rand_boolean (rand) ? "TANDEM-" : "");
          for (guint i = 0; i < len; i++)
            g_string_append_c (input, g_rand_boolean (rand) ? crockford[g_rand_int_range (rand, 0, 32)]
                                                            : (char) g_rand_int_range (rand, 1, 256));
        }
      else
        {
          g_autoptr(GByteArray) payload = random_payload (rand);
          g_autofree char *packed = pack_checked (payload);

          input = g_string_new (packed);
        }

      invite = tandem_invite_decode (input->str, &error);
      if (invite == NULL)
        {
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
          g_assert_true (g_utf8_validate (error->message, -1, NULL));
          n_refused++;
        }
      else
        {
          g_autofree char *again = reencode (invite);
          g_autoptr(TandemInvite) back = decode_ok (again);

          g_assert_no_error (error);
          g_assert_cmpuint (invite->addresses->len, <=, TANDEM_INVITE_MAX_ADDRESSES);
          g_assert_cmpuint (g_bytes_get_size (invite->key), ==, TANDEM_NOTEBOOK_KEY_SIZE);
          g_assert_true (invites_equal (invite, back));
          /* a mistyped invite that decodes is the invite itself, and a
           * crafted one is written the one way an encoder writes it */
          if (source != NULL)
            g_assert_cmpstr (again, ==, source);
          if (kind >= 7)
            {
              g_assert_cmpstr (again, ==, input->str);
              n_crafted_ok++;
            }
          n_ok++;
        }
    }

  g_test_message ("%u decoded (%u crafted), %u refused", n_ok, n_crafted_ok, n_refused);
  /* both sides are reached, or the loop tested little */
  g_assert_cmpuint (n_ok, >, 500);
  g_assert_cmpuint (n_crafted_ok, >, 200);
  g_assert_cmpuint (n_refused, >, 10000);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/net/invite/roundtrip/none", test_roundtrip_none);
  g_test_add_func ("/net/invite/roundtrip/one", test_roundtrip_one);
  g_test_add_func ("/net/invite/roundtrip/four", test_roundtrip_four);
  g_test_add_func ("/net/invite/roundtrip/random", test_roundtrip_random);
  g_test_add_func ("/net/invite/roundtrip/canonical", test_roundtrip_canonical);
  g_test_add_func ("/net/invite/format", test_format);
  g_test_add_func ("/net/invite/forgiving", test_forgiving);
  g_test_add_func ("/net/invite/typo/substitutions", test_substitutions);
  g_test_add_func ("/net/invite/typo/transpositions", test_transpositions);
  g_test_add_func ("/net/invite/typo/padding", test_padding);
  g_test_add_func ("/net/invite/reject/truncated", test_truncated);
  g_test_add_func ("/net/invite/reject/extra", test_extra);
  g_test_add_func ("/net/invite/reject/garbage", test_garbage);
  g_test_add_func ("/net/invite/reject/crafted", test_crafted);
  g_test_add_func ("/net/invite/encode-rejects", test_encode_rejects);
  g_test_add_func ("/net/invite/fuzz", test_fuzz);

  return g_test_run ();
}
