/* tandem-invite.c: invite codes for shared notebooks
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * An invite is what one person gives another to share a notebook: read
 * aloud, typed from a screen, pasted into a chat. Whoever holds it holds
 * the notebook's key, and so is a member. It reads
 *
 *   TANDEM-04012-8HK8H-APCXW-...-D7PG0-SXFB3-WG
 *
 * where the characters after the prefix are Crockford base32 (the digits
 * and the letters but I, L, O and U), in groups of five, of these bytes:
 *
 *   1       the version, 1
 *   16      the notebook id
 *   32      the notebook key
 *   1       n, how many addresses follow, 0 to 4
 *   n times the family (4 or 6), the address (4 or 16 bytes) and the port
 *           (2 bytes, big-endian) of a place the inviter was reachable
 *   4       the first 4 bytes of the SHA-256 of all the bytes before
 *
 * packed 5 bits to a character, most significant first, the last
 * character padded with zero bits: 54 to 130 bytes make 111 characters
 * without addresses and 256 with four IPv6 ones. A typo changes at least one bit, and
 * a changed invite passes the checksum once in 2^32 tries. Every version
 * must end in the same checksum: that is how a reader tells an invite
 * from a newer Tandem (the checksum matches) from a damaged one.
 *
 * The addresses are only a hint for finding the inviter: nothing vouches
 * for them (the checksum catches mistakes, not forgeries), and peers prove
 * they hold the key wherever they connect (see tandem-membership.c).
 *
 * Reading forgives what Crockford's alphabet is meant to forgive: case,
 * spaces, dashes and line breaks anywhere, I and L for 1, O for 0. Anything
 * else is refused with an error that says what is wrong, in words a person
 * can act on: a missing end, a typo, an invite from a newer Tandem.
 */
#include "tandem-invite.h"

#include <gio/gio.h>
#include <string.h>

#define INVITE_PREFIX "TANDEM"
#define INVITE_VERSION 1
#define NOTEBOOK_ID_SIZE 16
#define NOTEBOOK_ID_HEX_LEN (2 * NOTEBOOK_ID_SIZE)
#define CHECKSUM_SIZE 4
#define GROUP_LEN 5
/* the version, the id, the key and the address count */
#define HEADER_SIZE (1 + NOTEBOOK_ID_SIZE + TANDEM_NOTEBOOK_KEY_SIZE + 1)
#define FAMILY_IPV4 4
#define FAMILY_IPV6 6
#define PORT_SIZE 2

#define INVALID(...) \
  (g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, __VA_ARGS__), NULL)
#define INCOMPLETE() INVALID ("The invite is incomplete")
#define TYPO() INVALID ("The invite has a typo (its checksum does not match)")

/* Crockford's alphabet: no I, L or O, which pass for 1 and 0, and no U,
 * which makes fewer accidental words. */
static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/**
 * tandem_invite_free:
 */
void
tandem_invite_free (TandemInvite *invite)
{
  if (invite == NULL)
    return;
  g_free (invite->notebook_id);
  g_clear_pointer (&invite->key, g_bytes_unref);
  g_clear_pointer (&invite->addresses, g_ptr_array_unref);
  g_free (invite);
}

static void
compute_checksum (const guint8 *data,
                  gsize         len,
                  guint8        checksum[CHECKSUM_SIZE])
{
  g_autoptr(GChecksum) sha = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 digest[32];
  gsize digest_len = sizeof digest;

  g_checksum_update (sha, data, len);
  g_checksum_get_digest (sha, digest, &digest_len);
  memcpy (checksum, digest, CHECKSUM_SIZE);
}

/* Whether the CHECKSUM_SIZE bytes after the first @len of @data, which
 * the caller has checked are there, are the checksum of those @len. */
static gboolean
checksum_follows (const guint8 *data,
                  gsize         len)
{
  guint8 expected[CHECKSUM_SIZE];

  compute_checksum (data, len, expected);
  return memcmp (expected, data + len, CHECKSUM_SIZE) == 0;
}

/* ---- writing ------------------------------------------------------------ */

static gboolean
is_notebook_id (const char *id)
{
  gsize i;

  for (i = 0; id[i] != '\0'; i++)
    {
      if (!g_ascii_isdigit (id[i]) && !(id[i] >= 'a' && id[i] <= 'f'))
        return FALSE;
    }
  return i == NOTEBOOK_ID_HEX_LEN;
}

static gboolean
parse_port (const char *text,
            guint16    *port)
{
  guint value = 0;

  /* digits only: g_ascii_string_to_unsigned() would let leading spaces in */
  for (gsize i = 0; text[i] != '\0'; i++)
    {
      if (!g_ascii_isdigit (text[i]))
        return FALSE;
      value = 10 * value + (guint) (text[i] - '0');
      /* before it can wrap around */
      if (value > G_MAXUINT16)
        return FALSE;
    }
  /* none, or 0 */
  if (value == 0)
    return FALSE;
  *port = (guint16) value;
  return TRUE;
}

/* Appends the family, address and port bytes of @address, which is
 * "192.0.2.1:7000" or "[2001:db8::1]:7000", to @data. */
static gboolean
append_address (GByteArray  *data,
                const char  *address,
                GError     **error)
{
  g_autofree char *host = NULL;
  g_autoptr(GInetAddress) inet = NULL;
  gboolean bracketed = address[0] == '[';
  const char *port_text;
  guint16 port;
  guint8 family;
  guint8 port_bytes[PORT_SIZE];

  if (!g_utf8_validate (address, -1, NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "An address to put in the invite is not valid UTF-8");
      return FALSE;
    }

  if (bracketed)
    {
      const char *close = strchr (address, ']');

      if (close == NULL || close[1] != ':')
        goto not_an_address;
      host = g_strndup (address + 1, close - address - 1);
      port_text = close + 2;
    }
  else
    {
      const char *colon = strrchr (address, ':');

      if (colon == NULL)
        goto not_an_address;
      host = g_strndup (address, colon - address);
      port_text = colon + 1;
    }

  /* A scope ("fe80::1%eth0") names an interface of this computer, which
   * means nothing on another one and has no room in the invite. */
  if (strchr (host, '%') == NULL)
    inet = g_inet_address_new_from_string (host);
  /* the brackets are what tell an IPv6 address's colons from the port's */
  if (inet == NULL || (g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6) != bracketed)
    goto not_an_address;
  if (!parse_port (port_text, &port))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Address “%s” has no port from 1 to 65535", address);
      return FALSE;
    }

  family = bracketed ? FAMILY_IPV6 : FAMILY_IPV4;
  port_bytes[0] = port >> 8;
  port_bytes[1] = port & 0xff;
  g_byte_array_append (data, &family, 1);
  g_byte_array_append (data, g_inet_address_to_bytes (inet), g_inet_address_get_native_size (inet));
  g_byte_array_append (data, port_bytes, PORT_SIZE);
  return TRUE;

not_an_address:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "Address “%s” is neither like 192.0.2.1:7000 nor like [2001:db8::1]:7000", address);
  return FALSE;
}

static void
append_char (GString *code,
             char     c,
             gsize   *n_chars)
{
  if (*n_chars % GROUP_LEN == 0)
    g_string_append_c (code, '-');
  g_string_append_c (code, c);
  (*n_chars)++;
}

static char *
to_code (const guint8 *data,
         gsize         len)
{
  GString *code = g_string_new (INVITE_PREFIX);
  guint bits = 0;      /* only the low n_bits matter */
  guint n_bits = 0;
  gsize n_chars = 0;

  for (gsize i = 0; i < len; i++)
    {
      bits = (bits << 8) | data[i];
      n_bits += 8;
      while (n_bits >= 5)
        {
          n_bits -= 5;
          append_char (code, alphabet[(bits >> n_bits) & 31], &n_chars);
        }
    }
  if (n_bits > 0)
    append_char (code, alphabet[(bits << (5 - n_bits)) & 31], &n_chars);
  return g_string_free (code, FALSE);
}

/**
 * tandem_invite_encode:
 * @notebook_id: 32 lowercase hex digits
 * @key: the notebook key, %TANDEM_NOTEBOOK_KEY_SIZE bytes
 * @addresses: (nullable) (array zero-terminated=1): up to
 *   %TANDEM_INVITE_MAX_ADDRESSES places the inviter can be reached, each
 *   "192.0.2.1:7000" or "[2001:db8::1]:7000"
 *
 * Returns: (transfer full): the invite, "TANDEM-" and groups of five
 *   characters, or %NULL with @error set (%G_IO_ERROR_INVALID_ARGUMENT)
 *   if an argument does not fit in one
 */
char *
tandem_invite_encode (const char         *notebook_id,
                      GBytes             *key,
                      const char * const *addresses,
                      GError            **error)
{
  g_autoptr(GByteArray) data = NULL;
  guint n_addresses = 0;
  guint8 byte;
  guint8 checksum[CHECKSUM_SIZE];

  g_return_val_if_fail (notebook_id != NULL, NULL);
  g_return_val_if_fail (key != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!is_notebook_id (notebook_id))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "A notebook id must be %d lowercase hex digits", NOTEBOOK_ID_HEX_LEN);
      return NULL;
    }
  if (g_bytes_get_size (key) != TANDEM_NOTEBOOK_KEY_SIZE)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "A notebook key must be %d bytes, not %" G_GSIZE_FORMAT,
                   TANDEM_NOTEBOOK_KEY_SIZE, g_bytes_get_size (key));
      return NULL;
    }
  while (addresses != NULL && addresses[n_addresses] != NULL)
    n_addresses++;
  if (n_addresses > TANDEM_INVITE_MAX_ADDRESSES)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "An invite holds at most %d addresses, not %u",
                   TANDEM_INVITE_MAX_ADDRESSES, n_addresses);
      return NULL;
    }

  data = g_byte_array_new ();
  byte = INVITE_VERSION;
  g_byte_array_append (data, &byte, 1);
  for (guint i = 0; i < NOTEBOOK_ID_SIZE; i++)
    {
      byte = (guint8) (g_ascii_xdigit_value (notebook_id[2 * i]) << 4
                       | g_ascii_xdigit_value (notebook_id[2 * i + 1]));
      g_byte_array_append (data, &byte, 1);
    }
  g_byte_array_append (data, g_bytes_get_data (key, NULL), TANDEM_NOTEBOOK_KEY_SIZE);
  byte = (guint8) n_addresses;
  g_byte_array_append (data, &byte, 1);
  for (guint i = 0; i < n_addresses; i++)
    {
      if (!append_address (data, addresses[i], error))
        return NULL;
    }

  compute_checksum (data->data, data->len, checksum);
  g_byte_array_append (data, checksum, CHECKSUM_SIZE);
  return to_code (data->data, data->len);
}

/* ---- reading ------------------------------------------------------------ */

static gboolean
is_separator (char c)
{
  return c == '-' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The 5 bits @c stands for, or -1 if it stands for none. */
static int
char_value (char c)
{
  const char *found;

  c = g_ascii_toupper (c);
  if (c == 'I' || c == 'L')
    return 1;
  if (c == 'O')
    return 0;
  found = c != '\0' ? strchr (alphabet, c) : NULL;
  return found != NULL ? (int) (found - alphabet) : -1;
}

/* Checks the prefix of @code and turns the characters after it into bytes,
 * 5 bits each. The bits that do not fill a last byte are left in @spare
 * and counted in @n_spare_bits. */
static GByteArray *
unpack (const char  *code,
        guint       *spare,
        guint       *n_spare_bits,
        GError     **error)
{
  g_autoptr(GByteArray) data = g_byte_array_new ();
  gsize n_prefix = 0;
  guint bits = 0;      /* only the low n_bits matter */
  guint n_bits = 0;

  for (const char *p = code; *p != '\0'; p++)
    {
      int value;

      if (is_separator (*p))
        continue;
      if (n_prefix < strlen (INVITE_PREFIX))
        {
          if (g_ascii_toupper (*p) != INVITE_PREFIX[n_prefix])
            return INVALID ("Not a Tandem invite (it does not start with “%s-”)", INVITE_PREFIX);
          n_prefix++;
          continue;
        }

      value = char_value (*p);
      if (value < 0)
        {
          /* only quote what is printable, and valid UTF-8 on its own */
          if (g_ascii_isgraph (*p))
            return INVALID ("“%c” cannot be part of a Tandem invite", *p);
          return INVALID ("The invite contains a character that cannot be part of one");
        }
      bits = (bits << 5) | (guint) value;
      n_bits += 5;
      if (n_bits >= 8)
        {
          guint8 byte;

          n_bits -= 8;
          byte = (guint8) (bits >> n_bits);
          g_byte_array_append (data, &byte, 1);
        }
    }

  /* A prefix cut short leaves no bytes, which the caller reads as an
   * incomplete invite; no prefix at all is none. */
  if (n_prefix == 0)
    return INVALID ("Not a Tandem invite (it is empty)");
  *spare = bits & ((1u << n_bits) - 1);
  *n_spare_bits = n_bits;
  return g_steal_pointer (&data);
}

typedef enum
{
  LAYOUT_OK,
  LAYOUT_SHORT,
  LAYOUT_TOO_MANY_ADDRESSES,
  LAYOUT_UNKNOWN_FAMILY,
} Layout;

/* Walks a version 1 invite far enough to know how long it should be,
 * checksum included, reading only the bytes that are there and trusting
 * none of them. */
static Layout
measure_v1 (const guint8 *data,
            gsize         len,
            gsize        *total,
            guint        *n_addresses,
            guint        *bad_address,
            guint        *bad_family)
{
  gsize pos = HEADER_SIZE;

  if (len < HEADER_SIZE)
    return LAYOUT_SHORT;
  *n_addresses = data[HEADER_SIZE - 1];
  if (*n_addresses > TANDEM_INVITE_MAX_ADDRESSES)
    return LAYOUT_TOO_MANY_ADDRESSES;
  for (guint i = 0; i < *n_addresses; i++)
    {
      if (pos >= len)
        return LAYOUT_SHORT;
      switch (data[pos])
        {
        case FAMILY_IPV4:
          pos += 1 + 4 + PORT_SIZE;
          break;
        case FAMILY_IPV6:
          pos += 1 + 16 + PORT_SIZE;
          break;
        default:
          *bad_address = i;
          *bad_family = data[pos];
          return LAYOUT_UNKNOWN_FAMILY;
        }
    }
  *total = pos + CHECKSUM_SIZE;
  return LAYOUT_OK;
}

/* Reads a version 1 invite whose layout measure_v1() found sound and
 * whose checksum matched: only the values are left to check. */
static TandemInvite *
read_v1 (const guint8  *data,
         guint          n_addresses,
         GError       **error)
{
  g_autoptr(TandemInvite) invite = g_new0 (TandemInvite, 1);
  gsize pos = 1;

  invite->notebook_id = tandem_hex_encode (data + pos, NOTEBOOK_ID_SIZE);
  pos += NOTEBOOK_ID_SIZE;
  invite->key = g_bytes_new (data + pos, TANDEM_NOTEBOOK_KEY_SIZE);
  pos += TANDEM_NOTEBOOK_KEY_SIZE + 1;
  invite->addresses = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < n_addresses; i++)
    {
      gboolean ipv6 = data[pos++] == FAMILY_IPV6;
      g_autoptr(GInetAddress) inet =
        g_inet_address_new_from_bytes (data + pos, ipv6 ? G_SOCKET_FAMILY_IPV6 : G_SOCKET_FAMILY_IPV4);
      g_autofree char *host = g_inet_address_to_string (inet);
      guint port;

      pos += g_inet_address_get_native_size (inet);
      port = (guint) data[pos] << 8 | data[pos + 1];
      pos += PORT_SIZE;
      if (port == 0)
        return INVALID ("Address %u in the invite has port 0", i + 1);
      g_ptr_array_add (invite->addresses,
                       ipv6 ? g_strdup_printf ("[%s]:%u", host, port) : g_strdup_printf ("%s:%u", host, port));
    }
  return g_steal_pointer (&invite);
}

/**
 * tandem_invite_decode:
 * @code: an invite as a person typed or pasted it
 *
 * Reads an invite made by tandem_invite_encode(), ignoring case, spaces,
 * dashes and line breaks and reading I and L as 1, O as 0.
 *
 * Returns: (transfer full): the invite, or %NULL with @error set
 *   (%G_IO_ERROR_INVALID_DATA, with a message for the user) if @code is
 *   not one, is cut short, has a typo or comes from a newer Tandem
 */
TandemInvite *
tandem_invite_decode (const char  *code,
                      GError     **error)
{
  g_autoptr(GByteArray) bytes = NULL;
  const guint8 *data;
  gsize len;
  guint spare = 0, n_spare_bits = 0;
  gboolean intact;
  gsize total = 0;
  guint n_addresses = 0, bad_address = 0, bad_family = 0;

  g_return_val_if_fail (code != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  bytes = unpack (code, &spare, &n_spare_bits, error);
  if (bytes == NULL)
    return NULL;
  data = bytes->data;
  len = bytes->len;

  /* Intact: as tandem_invite_encode() would have written it, its checksum
   * last. An encoder leaves fewer than 5 spare bits, all zero; a last
   * character that sets one is a typo the checksum cannot see. */
  intact = n_spare_bits < 5 && spare == 0
           && len > CHECKSUM_SIZE && checksum_follows (data, len - CHECKSUM_SIZE);

  if (len == 0)
    return INCOMPLETE ();
  if (data[0] != INVITE_VERSION)
    {
      if (!intact)
        return TYPO ();
      if (data[0] > INVITE_VERSION)
        return INVALID ("This invite was made by a newer Tandem");
      return INVALID ("The invite is malformed (it has version %u)", data[0]);
    }

  /* What is wrong with an invite that is not intact is a guess from its
   * length: the layout says how long it should be. */
  switch (measure_v1 (data, len, &total, &n_addresses, &bad_address, &bad_family))
    {
    case LAYOUT_OK:
      break;
    case LAYOUT_SHORT:
      return INCOMPLETE ();
    case LAYOUT_TOO_MANY_ADDRESSES:
      if (!intact)
        return TYPO ();
      return INVALID ("The invite lists %u addresses, more than the %d it can hold",
                      n_addresses, TANDEM_INVITE_MAX_ADDRESSES);
    case LAYOUT_UNKNOWN_FAMILY:
      if (!intact)
        return TYPO ();
      return INVALID ("Address %u in the invite has an unknown family (%u)",
                      bad_address + 1, bad_family);
    default:
      g_assert_not_reached ();
    }

  if (len < total)
    return INCOMPLETE ();
  if (len > total || n_spare_bits >= 5)
    {
      /* a whole invite followed by something else */
      if (checksum_follows (data, total - CHECKSUM_SIZE))
        return INVALID ("The invite has extra characters at its end");
      if (!intact)
        return TYPO ();
      return INVALID ("The invite is malformed (it holds more than its addresses)");
    }
  if (!intact)
    return TYPO ();
  return read_v1 (data, n_addresses, error);
}
