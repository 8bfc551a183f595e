/* tandem-store-identity.c: the peer's key, certificate and key file
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Each peer has an EC P-256 key and a self-signed certificate whose common
 * name is the peer id in hex. Peers pin each other by the SHA-256 of the
 * certificate's DER, so nothing here needs a certificate authority.
 *
 * The private key lives in its own file, identity-key.pem, mode 0600, and
 * not in the database: a database is something users copy, back up and
 * attach to bug reports, and a key in it would travel along.
 *
 * Randomness comes from gnutls_rnd(), a CSPRNG seeded by the kernel: ids and
 * notebook keys must not be guessable, which GRand (a Mersenne Twister) does
 * not promise.
 */
#include "tandem-store-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#define CERT_VALIDITY_SECONDS ((time_t) 10 * 365 * 24 * 60 * 60)
/* Peers' clocks differ: a certificate made a minute ago must not look
 * "not yet valid" to a peer whose clock is an hour behind. */
#define CERT_BACKDATE_SECONDS ((time_t) 24 * 60 * 60)
#define KEY_FILE_MAX_SIZE (64 * 1024)

static void
random_bytes (gnutls_rnd_level_t  level,
              void               *buf,
              gsize               len)
{
  /* Only fails if the kernel cannot give randomness at all; carrying on
   * would hand out guessable keys. */
  if (gnutls_rnd (level, buf, len) < 0)
    g_error ("No randomness available from the system");
}

guint64
_tandem_identity_random_peer_id (void)
{
  guint64 id = 0;

  /* 0 reads as "no peer" in too many places to be worth allowing. */
  while (id == 0)
    random_bytes (GNUTLS_RND_RANDOM, &id, sizeof id);
  return id;
}

char *
_tandem_identity_random_hex (gsize n_bytes)
{
  g_autofree guint8 *buf = g_malloc (n_bytes);
  GString *hex = g_string_sized_new (n_bytes * 2);

  random_bytes (GNUTLS_RND_RANDOM, buf, n_bytes);
  for (gsize i = 0; i < n_bytes; i++)
    g_string_append_printf (hex, "%02x", buf[i]);
  return g_string_free (hex, FALSE);
}

GBytes *
_tandem_identity_random_key (gsize n_bytes)
{
  guint8 *buf = g_malloc (n_bytes);

  random_bytes (GNUTLS_RND_KEY, buf, n_bytes);
  return g_bytes_new_take (buf, n_bytes);
}

/* Errors of plain file calls, sorted into the codes the UI can act on. */
void
_tandem_store_errno_error (GError     **error,
                           int          saved_errno,
                           const char  *format,
                           ...)
{
  g_autofree char *what = NULL;
  va_list args;
  int code;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);

  switch (saved_errno)
    {
    case EACCES:
    case EPERM:
    case EROFS:
      code = TANDEM_STORE_ERROR_READ_ONLY;
      break;
    case ENOSPC:
    case EDQUOT:
      code = TANDEM_STORE_ERROR_DISK_FULL;
      break;
    default:
      code = TANDEM_STORE_ERROR_FAILED;
    }

  g_set_error (error, TANDEM_STORE_ERROR, code, "%s: %s", what, g_strerror (saved_errno));
}

static gboolean
gnutls_failed (GError     **error,
               int          ret,
               const char  *doing)
{
  g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_FAILED,
               "Could not %s: %s", doing, gnutls_strerror (ret));
  return FALSE;
}

static char *
datum_to_string (const gnutls_datum_t *datum)
{
  return g_strndup ((const char *) datum->data, datum->size);
}

/**
 * _tandem_identity_make:
 * @peer_id: goes into the certificate's common name
 * @cert_pem: (out): the self-signed certificate, PEM
 * @key_pem: (out): the private key, unencrypted PKCS #8 PEM (what
 *   g_tls_certificate_new_from_pem() reads)
 *
 * Makes a new EC P-256 key and a certificate for it, valid for ten years.
 */
gboolean
_tandem_identity_make (guint64      peer_id,
                       char       **cert_pem,
                       char       **key_pem,
                       GError     **error)
{
  gnutls_x509_privkey_t key = NULL;
  gnutls_x509_crt_t crt = NULL;
  gnutls_datum_t cert_out = { NULL, 0 };
  gnutls_datum_t key_out = { NULL, 0 };
  g_autofree char *cn = g_strdup_printf ("%016" G_GINT64_MODIFIER "x", peer_id);
  guint8 serial[16];
  guint8 key_id[64];
  size_t key_id_size = sizeof key_id;
  time_t now = time (NULL);
  gboolean ok = FALSE;
  int ret;

  g_return_val_if_fail (cert_pem != NULL && key_pem != NULL, FALSE);

  if ((ret = gnutls_x509_privkey_init (&key)) < 0 ||
      (ret = gnutls_x509_privkey_generate (key, GNUTLS_PK_ECDSA,
                                           GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1), 0)) < 0)
    {
      gnutls_failed (error, ret, "make the identity key");
      goto out;
    }

  /* A positive 128-bit serial: certificates of one peer id (after a key
   * change) must still tell apart. */
  random_bytes (GNUTLS_RND_NONCE, serial, sizeof serial);
  serial[0] = (serial[0] & 0x7f) | 0x40;

  if ((ret = gnutls_x509_crt_init (&crt)) < 0 ||
      (ret = gnutls_x509_crt_set_version (crt, 3)) < 0 ||
      (ret = gnutls_x509_crt_set_serial (crt, serial, sizeof serial)) < 0 ||
      (ret = gnutls_x509_crt_set_activation_time (crt, now - CERT_BACKDATE_SECONDS)) < 0 ||
      (ret = gnutls_x509_crt_set_expiration_time (crt, now + CERT_VALIDITY_SECONDS)) < 0 ||
      (ret = gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen (cn))) < 0 ||
      (ret = gnutls_x509_crt_set_key (crt, key)) < 0 ||
      (ret = gnutls_x509_crt_set_basic_constraints (crt, 0, -1)) < 0 ||
      (ret = gnutls_x509_crt_set_key_usage (crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
      (ret = gnutls_x509_crt_set_key_purpose_oid (crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0 ||
      (ret = gnutls_x509_crt_set_key_purpose_oid (crt, GNUTLS_KP_TLS_WWW_CLIENT, 0)) < 0 ||
      (ret = gnutls_x509_privkey_get_key_id (key, GNUTLS_KEYID_USE_SHA1, key_id, &key_id_size)) < 0 ||
      (ret = gnutls_x509_crt_set_subject_key_id (crt, key_id, key_id_size)) < 0 ||
      (ret = gnutls_x509_crt_sign2 (crt, crt, key, GNUTLS_DIG_SHA256, 0)) < 0)
    {
      gnutls_failed (error, ret, "make the identity certificate");
      goto out;
    }

  if ((ret = gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_PEM, &cert_out)) < 0 ||
      (ret = gnutls_x509_privkey_export2_pkcs8 (key, GNUTLS_X509_FMT_PEM, NULL,
                                                GNUTLS_PKCS_PLAIN, &key_out)) < 0)
    {
      gnutls_failed (error, ret, "export the identity");
      goto out;
    }

  *cert_pem = datum_to_string (&cert_out);
  *key_pem = datum_to_string (&key_out);
  ok = TRUE;

out:
  if (key_out.data != NULL)
    {
      gnutls_memset (key_out.data, 0, key_out.size);
      gnutls_free (key_out.data);
    }
  gnutls_free (cert_out.data);
  if (crt != NULL)
    gnutls_x509_crt_deinit (crt);
  if (key != NULL)
    gnutls_x509_privkey_deinit (key);
  return ok;
}

static gboolean
import_certificate (const char         *cert_pem,
                    gnutls_x509_crt_t  *crt,
                    GError            **error)
{
  gnutls_datum_t datum = { (unsigned char *) cert_pem, strlen (cert_pem) };
  int ret;

  if ((ret = gnutls_x509_crt_init (crt)) < 0)
    return gnutls_failed (error, ret, "read the identity certificate");
  if ((ret = gnutls_x509_crt_import (*crt, &datum, GNUTLS_X509_FMT_PEM)) < 0)
    {
      gnutls_x509_crt_deinit (*crt);
      *crt = NULL;
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_CORRUPT,
                   "The identity certificate in the database is damaged: %s",
                   gnutls_strerror (ret));
      return FALSE;
    }
  return TRUE;
}

/**
 * _tandem_identity_fingerprint:
 *
 * Returns: the SHA-256 of the certificate's DER form, 64 lowercase hex
 *   digits; what peers pin
 */
char *
_tandem_identity_fingerprint (const char  *cert_pem,
                              GError     **error)
{
  gnutls_x509_crt_t crt = NULL;
  guint8 digest[32];
  size_t size = sizeof digest;
  GString *hex;
  int ret;

  if (!import_certificate (cert_pem, &crt, error))
    return NULL;
  ret = gnutls_x509_crt_get_fingerprint (crt, GNUTLS_DIG_SHA256, digest, &size);
  gnutls_x509_crt_deinit (crt);
  if (ret < 0)
    {
      gnutls_failed (error, ret, "hash the identity certificate");
      return NULL;
    }

  hex = g_string_sized_new (size * 2);
  for (gsize i = 0; i < size; i++)
    g_string_append_printf (hex, "%02x", digest[i]);
  return g_string_free (hex, FALSE);
}

/**
 * _tandem_identity_check_pair:
 * @key_path: named in the error
 *
 * Checks that @key_pem is the private half of the key in @cert_pem, so a
 * key file swapped from another profile is not silently used.
 */
gboolean
_tandem_identity_check_pair (const char  *cert_pem,
                             const char  *key_pem,
                             const char  *key_path,
                             GError     **error)
{
  gnutls_x509_crt_t crt = NULL;
  gnutls_x509_privkey_t key = NULL;
  gnutls_datum_t datum = { (unsigned char *) key_pem, strlen (key_pem) };
  guint8 crt_id[64], key_id[64];
  size_t crt_id_size = sizeof crt_id, key_id_size = sizeof key_id;
  gboolean ok = FALSE;
  int ret;

  if (!import_certificate (cert_pem, &crt, error))
    return FALSE;

  if ((ret = gnutls_x509_privkey_init (&key)) < 0 ||
      (ret = gnutls_x509_privkey_import2 (key, &datum, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0)
    {
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_CORRUPT,
                   "The identity key %s is damaged: %s", key_path, gnutls_strerror (ret));
      goto out;
    }

  if ((ret = gnutls_x509_crt_get_key_id (crt, GNUTLS_KEYID_USE_SHA256, crt_id, &crt_id_size)) < 0 ||
      (ret = gnutls_x509_privkey_get_key_id (key, GNUTLS_KEYID_USE_SHA256, key_id, &key_id_size)) < 0)
    {
      gnutls_failed (error, ret, "compare the identity key with its certificate");
      goto out;
    }

  if (crt_id_size != key_id_size || memcmp (crt_id, key_id, crt_id_size) != 0)
    {
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_CORRUPT,
                   "The identity key %s does not belong to this profile's certificate",
                   key_path);
      goto out;
    }
  ok = TRUE;

out:
  if (key != NULL)
    gnutls_x509_privkey_deinit (key);
  gnutls_x509_crt_deinit (crt);
  return ok;
}

static gboolean
write_all (int          fd,
           const char  *data,
           gsize        len)
{
  while (len > 0)
    {
      gssize n = write (fd, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      len -= n;
    }
  return TRUE;
}

static void
fsync_dir (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  /* Makes the rename durable; a failure here only weakens durability
   * after a power cut, which the next start repairs by making a new
   * identity, so it is not an error. */
  if (fd >= 0)
    {
      fsync (fd);
      close (fd);
    }
}

/**
 * _tandem_identity_write_key:
 *
 * Writes the key to a new file created with O_EXCL and mode 0600, syncs
 * it, then renames it over @path, so the key is never readable by others,
 * not even for a moment, and a crash leaves either the old file or the new
 * one.
 */
gboolean
_tandem_identity_write_key (const char  *path,
                            const char  *key_pem,
                            GError     **error)
{
  g_autofree char *tmp = g_strconcat (path, ".new", NULL);
  int fd;

  /* Left over from a crash in this same function; ours to remove. */
  if (g_unlink (tmp) != 0 && errno != ENOENT)
    {
      _tandem_store_errno_error (error, errno, "Could not remove %s", tmp);
      return FALSE;
    }

  fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    {
      _tandem_store_errno_error (error, errno, "Could not create the identity key %s", tmp);
      return FALSE;
    }

  /* The umask can only narrow 0600, but say exactly what is meant. */
  if (fchmod (fd, 0600) != 0 ||
      !write_all (fd, key_pem, strlen (key_pem)) ||
      fsync (fd) != 0)
    {
      int saved_errno = errno;

      close (fd);
      g_unlink (tmp);
      _tandem_store_errno_error (error, saved_errno, "Could not write the identity key %s", tmp);
      return FALSE;
    }

  if (close (fd) != 0 || g_rename (tmp, path) != 0)
    {
      int saved_errno = errno;

      g_unlink (tmp);
      _tandem_store_errno_error (error, saved_errno, "Could not write the identity key %s", path);
      return FALSE;
    }

  fsync_dir (path);
  return TRUE;
}

/**
 * _tandem_identity_read_key:
 *
 * Reads the key file, refusing it (%TANDEM_STORE_ERROR_INSECURE) if anyone
 * but its owner may read or write it, or if it belongs to another user:
 * ssh refuses such keys for the same reason, and quietly tightening the
 * mode would hide that the key may already have leaked.
 */
char *
_tandem_identity_read_key (const char  *path,
                           GError     **error)
{
  struct stat st;
  g_autofree char *buf = NULL;
  gsize len = 0;
  int fd;

  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_FAILED,
                   "Could not read the identity key %s: %s", path, g_strerror (saved_errno));
      return NULL;
    }

  if (fstat (fd, &st) != 0)
    {
      int saved_errno = errno;

      close (fd);
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_FAILED,
                   "Could not read the identity key %s: %s", path, g_strerror (saved_errno));
      return NULL;
    }

  if (!S_ISREG (st.st_mode) || st.st_size > KEY_FILE_MAX_SIZE)
    {
      close (fd);
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_CORRUPT,
                   "The identity key %s is not a key file", path);
      return NULL;
    }

  if (st.st_uid != geteuid ())
    {
      close (fd);
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_INSECURE,
                   "The identity key %s belongs to another user", path);
      return NULL;
    }

  if ((st.st_mode & 0077) != 0)
    {
      close (fd);
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_INSECURE,
                   "The identity key %s can be read or changed by other users "
                   "(mode %04o); only you may have access to it (chmod 600)",
                   path, (unsigned) (st.st_mode & 07777));
      return NULL;
    }

  buf = g_malloc (st.st_size + 1);
  while (len < (gsize) st.st_size)
    {
      gssize n = read (fd, buf + len, st.st_size - len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved_errno = errno;

          close (fd);
          g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_FAILED,
                       "Could not read the identity key %s: %s", path, g_strerror (saved_errno));
          return NULL;
        }
      if (n == 0)
        break;
      len += n;
    }
  close (fd);
  buf[len] = '\0';

  if (strlen (buf) != len)
    {
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_CORRUPT,
                   "The identity key %s is not a key file", path);
      return NULL;
    }

  return g_steal_pointer (&buf);
}
