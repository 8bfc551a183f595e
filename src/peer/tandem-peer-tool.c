/* tandem-peer-tool.c: the headless Tandem peer and its testing seams
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <string.h>
#include <stdio.h>

#include "tandem-event-codec.h"
#include "tandem-markdown.h"
#include "tandem-note.h"
#include "tandem-peer-run.h"
#include "tandem-saved-note.h"
#include "tandem-scenario.h"
#include "tandem-trace.h"

static const char usage[] =
  "Usage:\n"
  "  tandem-peer scenario [--shuffle N] [--seed S] FILE.json...\n"
  "      run multi-peer scenarios and check their expected results\n"
  "  tandem-peer replay TRACE.json[.gz] [--repeat N] [--store]\n"
  "      replay an editing trace and print one JSON line of measurements;\n"
  "      --store also replays it into a store and measures that\n"
  "  tandem-peer run [--profile DIR] [--name N] [--port P] [--connect HOST:PORT]...\n"
  "                  [--no-discovery]\n"
  "      a networked headless peer driven by JSON lines on stdin (see README)\n"
  "  tandem-peer edit [--profile DIR | --memory [--peer HEX16]] [--brief]\n"
  "      edit one note of a profile offline, driven by JSON lines on stdin;\n"
  "      every edit is committed (default profile: $TANDEM_PROFILE, else\n"
  "      ~/.local/share/tandem) before its reply; --memory keeps nothing\n"
  "  tandem-peer export --profile DIR [--notebook ID] OUTDIR\n"
  "      write every note (of one notebook) as a Markdown file\n"
  "  tandem-peer import --profile DIR [--notebook ID] FILE.md...\n"
  "      add Markdown files as new notes (to the private notebook)\n"
  "  tandem-peer list --profile DIR\n"
  "      one JSON line per note: id, notebook, title, when it was trashed\n"
  "  tandem-peer trash|restore --profile DIR NOTE_ID\n"
  "      move a note to the trash (a synced field) or back\n"
  "  tandem-peer empty-trash --profile DIR [--grace-days N]\n"
  "      delete for good what has been in the trash N days (default 30)\n"
  "  tandem-peer history --profile DIR NOTE_ID\n"
  "      the note's past versions, grouped by time and author\n"
  "  tandem-peer show --profile DIR NOTE_ID --version N\n"
  "      the text at version N (its first N events)\n"
  "  tandem-peer restore-version --profile DIR NOTE_ID --version N\n"
  "      make today's text the text of version N, as a new edit\n"
  "  tandem-peer snapshot --profile DIR NOTE_ID [--version N] [--name NAME]\n"
  "      keep a version under a name (the latest, by default); no name deletes it\n"
  "  tandem-peer thin-history --profile DIR [--keep-days N]\n"
  "      forget unnamed versions older than N days (default 30)\n"
  "  tandem-peer verify --profile DIR\n"
  "      check a profile: the database, and that every note's saved text is\n"
  "      what its saved history makes\n";

static int
cmd_scenario (int    argc,
              char **argv)
{
  guint shuffle = 0;
  guint64 seed = 1;
  gboolean all_ok = TRUE;
  guint n_files = 0;

  for (int i = 0; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--shuffle") && i + 1 < argc)
        shuffle = g_ascii_strtoull (argv[++i], NULL, 10);
      else if (g_str_equal (argv[i], "--seed") && i + 1 < argc)
        seed = g_ascii_strtoull (argv[++i], NULL, 10);
      else if (g_str_has_prefix (argv[i], "--"))
        {
          g_printerr ("Unknown option %s\n%s", argv[i], usage);
          return 2;
        }
      else
        {
          g_autoptr(GString) out = g_string_new (NULL);

          all_ok &= tandem_scenario_run_file (argv[i], shuffle, seed, out);
          fputs (out->str, stdout);
          fflush (stdout);
          n_files++;
        }
    }
  if (n_files == 0)
    {
      g_printerr ("No scenario files given\n%s", usage);
      return 2;
    }
  return all_ok ? 0 : 1;
}

static int
cmd_replay (int    argc,
            char **argv)
{
  const char *path = NULL;
  guint repeat = 1;
  TandemTraceResult result = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;

  for (int i = 0; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--repeat") && i + 1 < argc)
        {
          repeat = g_ascii_strtoull (argv[++i], NULL, 10);
          repeat = MAX (repeat, 1);
        }
      else if (g_str_equal (argv[i], "--store"))
        result.store = TRUE;
      else if (path == NULL && !g_str_has_prefix (argv[i], "--"))
        path = argv[i];
      else
        {
          g_printerr ("Unexpected argument %s\n%s", argv[i], usage);
          return 2;
        }
    }
  if (path == NULL)
    {
      g_printerr ("No trace given\n%s", usage);
      return 2;
    }
  if (!tandem_trace_replay (path, repeat, &result, &error))
    {
      g_printerr ("Cannot replay %s: %s\n", path, error->message);
      return 1;
    }
  line = tandem_trace_result_to_json (path, &result);
  g_print ("%s\n", line);
  return result.matches_end && (!result.store || result.store_matches) ? 0 : 1;
}

static void
reply (JsonBuilder *b)
{
  g_autoptr(JsonNode) node = json_builder_get_root (b);
  g_autofree char *text = tandem_json_to_string (node, NULL);

  g_print ("%s\n", text);
  fflush (stdout);
}

static void
reply_error (const char *message)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "error");
  json_builder_add_string_value (b, message);
  json_builder_end_object (b);
  reply (b);
}

/* The default policies: the title asks the user, tags are a set. */
static void
set_default_policies (TandemNote *note)
{
  tandem_note_set_field_policy (note, "title", TANDEM_FIELD_POLICY_MANUAL);
  tandem_note_set_field_policy (note, "tags", TANDEM_FIELD_POLICY_SET);
}

static int
cmd_export (int    argc,
            char **argv)
{
  const char *profile = NULL, *notebook = NULL, *outdir = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemStore) store = NULL;
  g_autoptr(GPtrArray) notebooks = NULL;
  g_autoptr(GHashTable) used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (int i = 0; i < argc; i++)
    if (g_str_equal (argv[i], "--profile") && i + 1 < argc)
      profile = argv[++i];
    else if (g_str_equal (argv[i], "--notebook") && i + 1 < argc)
      notebook = argv[++i];
    else if (outdir == NULL && !g_str_has_prefix (argv[i], "--"))
      outdir = argv[i];
    else
      {
        g_printerr ("Unexpected argument %s\n%s", argv[i], usage);
        return 2;
      }
  if (outdir == NULL)
    {
      g_printerr ("export needs an output folder\n%s", usage);
      return 2;
    }
  if (!(store = tandem_store_open (profile, &error)) ||
      !(notebooks = tandem_store_list_notebooks (store, &error)))
    {
      g_printerr ("Cannot open the profile: %s\n", error->message);
      return 1;
    }
  if (g_mkdir_with_parents (outdir, 0700) != 0)
    {
      g_printerr ("Cannot create %s: %s\n", outdir, g_strerror (errno));
      return 1;
    }
  for (guint n = 0; n < notebooks->len; n++)
    {
      TandemStoreNotebook *nb = g_ptr_array_index (notebooks, n);
      g_autoptr(GPtrArray) notes = NULL;

      if (notebook != NULL && !g_str_equal (notebook, nb->id))
        continue;
      if (!(notes = tandem_store_list_notes (store, nb->id, &error)))
        break;
      for (guint i = 0; i < notes->len; i++)
        {
          TandemStoreNoteInfo *info = g_ptr_array_index (notes, i);
          g_autoptr(TandemSavedNote) saved = tandem_saved_note_load (store, info->id,
                                                                     tandem_store_get_peer_id (store), &error);
          TandemNote *note;
          g_autofree char *name = NULL, *markdown = NULL, *path = NULL;

          if (saved == NULL)
            {
              g_printerr ("Cannot read note %s: %s\n", info->id, error->message);
              return 1;
            }
          note = tandem_saved_note_get_note (saved);
          set_default_policies (note);
          name = tandem_markdown_file_name (note, info->id);
          /* two notes with one title get "title (2).md" */
          for (guint k = 2; g_hash_table_contains (used, name); k++)
            {
              g_autofree char *base = tandem_markdown_file_name (note, info->id);

              base[strlen (base) - 3] = '\0';
              g_free (name);
              name = g_strdup_printf ("%s (%u).md", base, k);
            }
          g_hash_table_add (used, g_strdup (name));
          markdown = tandem_markdown_from_note (note, info->id);
          path = g_build_filename (outdir, name, NULL);
          if (!g_file_set_contents (path, markdown, -1, &error))
            {
              g_printerr ("Cannot write %s: %s\n", path, error->message);
              return 1;
            }
          g_print ("%s\n", path);
        }
    }
  if (error != NULL)
    {
      g_printerr ("Cannot list notes: %s\n", error->message);
      return 1;
    }
  return 0;
}

static int
cmd_import (int    argc,
            char **argv)
{
  const char *profile = NULL, *notebook = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemStore) store = NULL;
  g_autoptr(GPtrArray) files = g_ptr_array_new ();
  int status = 0;

  for (int i = 0; i < argc; i++)
    if (g_str_equal (argv[i], "--profile") && i + 1 < argc)
      profile = argv[++i];
    else if (g_str_equal (argv[i], "--notebook") && i + 1 < argc)
      notebook = argv[++i];
    else if (!g_str_has_prefix (argv[i], "--"))
      g_ptr_array_add (files, argv[i]);
    else
      {
        g_printerr ("Unexpected argument %s\n%s", argv[i], usage);
        return 2;
      }
  if (!(store = tandem_store_open (profile, &error)))
    {
      g_printerr ("Cannot open the profile: %s\n", error->message);
      return 1;
    }
  if (notebook == NULL)
    notebook = tandem_store_get_private_notebook_id (store);

  for (guint i = 0; i < files->len; i++)
    {
      const char *file = g_ptr_array_index (files, i);
      g_autofree char *contents = NULL;
      gsize length;
      g_autoptr(GError) file_error = NULL;
      g_autoptr(TandemNote) note = tandem_note_new (tandem_store_get_peer_id (store));
      g_autoptr(TandemSavedNote) saved = NULL;

      set_default_policies (note);
      /* the note is made in memory and only saved once it is whole */
      if (!g_file_get_contents (file, &contents, &length, &file_error) ||
          !tandem_markdown_to_note (note, contents, length, &file_error) ||
          !(saved = tandem_saved_note_adopt (store, notebook, note, &file_error)) ||
          !tandem_saved_note_commit (saved, &file_error))
        {
          g_printerr ("Cannot import %s: %s\n", file, file_error->message);
          status = 1;
          continue;
        }
      g_print ("%s %s\n", tandem_saved_note_get_id (saved), file);
    }
  return status;
}

typedef struct
{
  const char *profile;
  const char *note;
  const char *name;
  guint grace_days;
  gint64 version;
} CommonArgs;

static gboolean
parse_common (int          argc,
              char       **argv,
              CommonArgs  *args)
{
  args->grace_days = 30;
  args->version = -1;
  for (int i = 0; i < argc; i++)
    if (g_str_equal (argv[i], "--profile") && i + 1 < argc)
      args->profile = argv[++i];
    else if ((g_str_equal (argv[i], "--grace-days") || g_str_equal (argv[i], "--keep-days")) && i + 1 < argc)
      args->grace_days = g_ascii_strtoull (argv[++i], NULL, 10);
    else if (g_str_equal (argv[i], "--version") && i + 1 < argc)
      args->version = g_ascii_strtoll (argv[++i], NULL, 10);
    else if (g_str_equal (argv[i], "--name") && i + 1 < argc)
      args->name = argv[++i];
    else if (args->note == NULL && !g_str_has_prefix (argv[i], "--"))
      args->note = argv[i];
    else
      {
        g_printerr ("Unexpected argument %s\n%s", argv[i], usage);
        return FALSE;
      }
  return TRUE;
}

static int
cmd_list (int    argc,
          char **argv)
{
  CommonArgs args = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemStore) store = NULL;
  g_autoptr(GPtrArray) notebooks = NULL;

  if (!parse_common (argc, argv, &args))
    return 2;
  if (!(store = tandem_store_open (args.profile, &error)) ||
      !(notebooks = tandem_store_list_notebooks (store, &error)))
    {
      g_printerr ("Cannot open the profile: %s\n", error->message);
      return 1;
    }
  for (guint n = 0; n < notebooks->len; n++)
    {
      TandemStoreNotebook *nb = g_ptr_array_index (notebooks, n);
      g_autoptr(GPtrArray) notes = tandem_store_list_notes (store, nb->id, &error);

      for (guint i = 0; notes && i < notes->len; i++)
        {
          TandemStoreNoteInfo *info = g_ptr_array_index (notes, i);
          g_autoptr(JsonBuilder) b = json_builder_new ();
          g_autoptr(TandemSavedNote) saved = tandem_saved_note_load (store, info->id,
                                                                     tandem_store_get_peer_id (store), NULL);
          g_autoptr(GVariant) title = saved ? tandem_note_dup_field (tandem_saved_note_get_note (saved), "title") : NULL;

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "id");
          json_builder_add_string_value (b, info->id);
          json_builder_set_member_name (b, "notebook");
          json_builder_add_string_value (b, nb->name);
          json_builder_set_member_name (b, "title");
          if (title != NULL && g_variant_is_of_type (title, G_VARIANT_TYPE_STRING))
            json_builder_add_string_value (b, g_variant_get_string (title, NULL));
          else
            json_builder_add_null_value (b);
          json_builder_set_member_name (b, "trashed");
          json_builder_add_int_value (b, info->trashed);
          json_builder_end_object (b);
          reply (b);
        }
    }
  return error ? 1 : 0;
}

static TandemSavedNote *
open_note_arg (CommonArgs   *args,
               TandemStore **store,
               GError      **error)
{
  TandemSavedNote *saved;

  if (args->note == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "Which note? Give its id (see tandem-peer list)");
      return NULL;
    }
  if (!(*store = tandem_store_open (args->profile, error)) ||
      !(saved = tandem_saved_note_load (*store, args->note, tandem_store_get_peer_id (*store), error)))
    return NULL;
  set_default_policies (tandem_saved_note_get_note (saved));
  return saved;
}

/* Trashing is a write of the synced `trashed` field (the time, so every
 * peer's grace period counts from the same moment); restoring unsets it. */
static int
cmd_trash (int        argc,
           char     **argv,
           gboolean   trash)
{
  CommonArgs args = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemStore) store = NULL;
  g_autoptr(TandemSavedNote) saved = NULL;
  g_autoptr(TandemEvent) event = NULL;

  if (!parse_common (argc, argv, &args))
    return 2;
  if (args.note == NULL)
    {
      g_printerr ("Which note? Give its id (see tandem-peer list)\n");
      return 2;
    }
  if (!(saved = open_note_arg (&args, &store, &error)))
    {
      g_printerr ("Cannot open the note: %s\n", error->message);
      return 1;
    }
  event = tandem_note_set_field (tandem_saved_note_get_note (saved), "trashed",
                                 trash ? g_variant_new_int64 (g_get_real_time () / G_USEC_PER_SEC) : NULL,
                                 &error);
  if (event == NULL || !tandem_saved_note_commit (saved, &error))
    {
      g_printerr ("Cannot %s the note: %s\n", trash ? "trash" : "restore", error->message);
      return 1;
    }
  return 0;
}

static int
cmd_empty_trash (int    argc,
                 char **argv)
{
  CommonArgs args = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemStore) store = NULL;
  guint n = 0;
  gint64 cutoff;

  if (!parse_common (argc, argv, &args))
    return 2;
  cutoff = g_get_real_time () / G_USEC_PER_SEC - (gint64) args.grace_days * 24 * 3600;
  if (!(store = tandem_store_open (args.profile, &error)) ||
      !tandem_store_purge_trash (store, cutoff, &n, &error))
    {
      g_printerr ("Cannot empty the trash: %s\n", error->message);
      return 1;
    }
  g_print ("%u\n", n);
  return 0;
}

/* Versions closer than this, by the same authors, show as one step. */
#define HISTORY_GROUP_USEC (10 * 60 * G_USEC_PER_SEC)

static int
cmd_history (int    argc,
             char **argv)
{
  CommonArgs args = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemStore) store = NULL;
  g_autoptr(TandemSavedNote) saved = NULL;
  g_autoptr(GPtrArray) versions = NULL;

  if (!parse_common (argc, argv, &args))
    return 2;
  if (!(saved = open_note_arg (&args, &store, &error)) ||
      !(versions = tandem_store_list_versions (store, args.note, &error)))
    {
      g_printerr ("Cannot read the history: %s\n", error->message);
      return 1;
    }
  /* One line per group: versions by the same authors, each within
   * HISTORY_GROUP_USEC of the one before; a named snapshot stands alone. */
  for (guint i = 0; i < versions->len;)
    {
      TandemStoreVersion *first = g_ptr_array_index (versions, i);
      TandemStoreVersion *last = first;
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonParser) parser = json_parser_new ();
      guint count = 1;

      for (i++; first->name == NULL && i < versions->len; i++, count++)
        {
          TandemStoreVersion *next = g_ptr_array_index (versions, i);

          if (next->name != NULL || g_strcmp0 (next->authors, first->authors) != 0 ||
              next->time - last->time > HISTORY_GROUP_USEC)
            break;
          last = next;
        }
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "version");
      json_builder_add_int_value (b, last->n_events);
      json_builder_set_member_name (b, "from_version");
      json_builder_add_int_value (b, first->n_events);
      json_builder_set_member_name (b, "versions");
      json_builder_add_int_value (b, count);
      json_builder_set_member_name (b, "start");
      json_builder_add_int_value (b, first->time / G_USEC_PER_SEC);
      json_builder_set_member_name (b, "end");
      json_builder_add_int_value (b, last->time / G_USEC_PER_SEC);
      json_builder_set_member_name (b, "authors");
      if (json_parser_load_from_data (parser, first->authors, -1, NULL))
        json_builder_add_value (b, json_node_copy (json_parser_get_root (parser)));
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "name");
      if (first->name != NULL)
        json_builder_add_string_value (b, first->name);
      else
        json_builder_add_null_value (b);
      json_builder_end_object (b);
      reply (b);
    }
  return 0;
}

static char *
text_at_version (TandemSavedNote  *saved,
                 gint64            version,
                 GError          **error)
{
  char *text = NULL;

  if (version >= 0 && version <= G_MAXUINT)
    text = tandem_note_dup_text_at (tandem_saved_note_get_note (saved), version);
  if (text == NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                 "The note has no version %" G_GINT64_FORMAT " (it has %u events)", version,
                 tandem_note_get_n_events (tandem_saved_note_get_note (saved)));
  return text;
}

static int
cmd_show (int    argc,
          char **argv)
{
  CommonArgs args = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemStore) store = NULL;
  g_autoptr(TandemSavedNote) saved = NULL;
  g_autofree char *text = NULL;

  if (!parse_common (argc, argv, &args))
    return 2;
  if (!(saved = open_note_arg (&args, &store, &error)) ||
      !(text = text_at_version (saved, args.version, &error)))
    {
      g_printerr ("Cannot show the version: %s\n", error->message);
      return 1;
    }
  fputs (text, stdout);
  return 0;
}

/* Restoring is an ordinary edit, so it syncs like typing (see
 * tandem_saved_note_restore_version()). */
static int
cmd_restore_version (int    argc,
                     char **argv)
{
  CommonArgs args = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemStore) store = NULL;
  g_autoptr(TandemSavedNote) saved = NULL;

  if (!parse_common (argc, argv, &args))
    return 2;
  if (!(saved = open_note_arg (&args, &store, &error)) ||
      args.version < 0 ||
      !tandem_saved_note_restore_version (saved, (guint64) args.version, &error))
    {
      if (error == NULL)
        g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                     "The note has no version %" G_GINT64_FORMAT, args.version);
      g_printerr ("Cannot restore the version: %s\n", error->message);
      return 1;
    }
  if (!tandem_saved_note_commit (saved, &error))
    {
      g_printerr ("Cannot save the restored text: %s\n", error->message);
      return 1;
    }
  return 0;
}

static int
cmd_snapshot (int    argc,
              char **argv)
{
  CommonArgs args = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemStore) store = NULL;
  g_autoptr(TandemSavedNote) saved = NULL;
  gint64 version;

  if (!parse_common (argc, argv, &args))
    return 2;
  if (!(saved = open_note_arg (&args, &store, &error)))
    {
      g_printerr ("Cannot open the note: %s\n", error->message);
      return 1;
    }
  version = args.version >= 0 ? args.version : tandem_saved_note_get_saved_events (saved);
  if (!tandem_store_name_version (store, args.note, version, args.name, &error))
    {
      g_printerr ("Cannot keep the snapshot: %s\n", error->message);
      return 1;
    }
  return 0;
}

static int
cmd_thin_history (int    argc,
                  char **argv)
{
  CommonArgs args = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemStore) store = NULL;
  guint n = 0;

  if (!parse_common (argc, argv, &args))
    return 2;
  if (!(store = tandem_store_open (args.profile, &error)) ||
      !tandem_store_thin_versions (store, g_get_real_time () - (gint64) args.grace_days * 24 * 3600 * G_USEC_PER_SEC,
                                   &n, &error))
    {
      g_printerr ("Cannot thin the history: %s\n", error->message);
      return 1;
    }
  g_print ("%u\n", n);
  return 0;
}

/* The note of a profile that `run` edits: the first note of the private
 * notebook, made on first use. */
static TandemSavedNote *
open_profile_note (const char   *profile,
                   TandemStore **store_out,
                   GError      **error)
{
  g_autoptr(TandemStore) store = tandem_store_open (profile, error);
  const char *notebook;
  g_autoptr(GPtrArray) notes = NULL;
  TandemSavedNote *saved;

  if (store == NULL)
    return NULL;
  notebook = tandem_store_get_private_notebook_id (store);
  if (!(notes = tandem_store_list_notes (store, notebook, error)))
    return NULL;
  if (notes->len == 0)
    {
      saved = tandem_saved_note_create (store, notebook, tandem_store_get_peer_id (store), error);
      /* an empty note is saved at once, so the next run finds it */
      if (saved != NULL && !tandem_saved_note_commit (saved, error))
        g_clear_object (&saved);
    }
  else
    {
      TandemStoreNoteInfo *info = g_ptr_array_index (notes, 0);

      for (guint i = 1; i < notes->len; i++)
        {
          TandemStoreNoteInfo *other = g_ptr_array_index (notes, i);

          if (other->created < info->created ||
              (other->created == info->created && strcmp (other->id, info->id) < 0))
            info = other;
        }
      saved = tandem_saved_note_load (store, info->id, tandem_store_get_peer_id (store), error);
    }
  if (saved != NULL)
    {
      set_default_policies (tandem_saved_note_get_note (saved));
      *store_out = g_steal_pointer (&store);
    }
  return saved;
}

static int
cmd_verify (int    argc,
            char **argv)
{
  const char *profile = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemStore) store = NULL;
  g_autoptr(GPtrArray) notebooks = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *integrity = NULL;
  gboolean all_ok;

  for (int i = 0; i < argc; i++)
    if (g_str_equal (argv[i], "--profile") && i + 1 < argc)
      profile = argv[++i];
  if (profile == NULL)
    {
      g_printerr ("verify needs --profile DIR\n%s", usage);
      return 2;
    }
  if (!(store = tandem_store_open (profile, &error)))
    integrity = g_strdup (error->message);
  else if (!tandem_store_check_integrity (store, &error))
    integrity = g_strdup (error->message);
  else
    integrity = g_strdup ("ok");
  all_ok = g_str_equal (integrity, "ok");

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "integrity");
  json_builder_add_string_value (b, integrity);
  json_builder_set_member_name (b, "notes");
  json_builder_begin_array (b);
  if (all_ok)
    notebooks = tandem_store_list_notebooks (store, NULL);
  for (guint n = 0; notebooks && n < notebooks->len; n++)
    {
      TandemStoreNotebook *notebook = g_ptr_array_index (notebooks, n);
      g_autoptr(GPtrArray) notes = tandem_store_list_notes (store, notebook->id, NULL);

      for (guint i = 0; notes && i < notes->len; i++)
        {
          TandemStoreNoteInfo *info = g_ptr_array_index (notes, i);
          guint64 peer = tandem_store_get_peer_id (store);
          g_autoptr(GError) note_error = NULL;
          g_autoptr(TandemSavedNote) saved = tandem_saved_note_load (store, info->id, peer, &note_error);
          TandemStoreNote *stored = NULL;
          g_autoptr(TandemNote) replayed = NULL;
          g_autofree char *text = NULL, *replayed_text = NULL;

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "id");
          json_builder_add_string_value (b, info->id);
          if (saved == NULL || !tandem_store_load_note (store, info->id, &stored, &note_error) ||
              !(replayed = tandem_note_new_from_log (peer, stored->log, NULL, &note_error)))
            {
              json_builder_set_member_name (b, "error");
              json_builder_add_string_value (b, note_error->message);
              all_ok = FALSE;
            }
          else
            {
              gboolean matches;

              text = tandem_note_dup_text (tandem_saved_note_get_note (saved));
              replayed_text = tandem_note_dup_text (replayed);
              matches = g_str_equal (text, replayed_text) && g_str_equal (text, stored->text);
              all_ok &= matches;
              json_builder_set_member_name (b, "events");
              json_builder_add_int_value (b, tandem_note_get_n_events (tandem_saved_note_get_note (saved)));
              json_builder_set_member_name (b, "length");
              json_builder_add_int_value (b, tandem_note_get_length (tandem_saved_note_get_note (saved)));
              json_builder_set_member_name (b, "text");
              json_builder_add_string_value (b, text);
              json_builder_set_member_name (b, "replay_matches");
              json_builder_add_boolean_value (b, matches);
            }
          g_clear_pointer (&stored, tandem_store_note_free);
          json_builder_end_object (b);
        }
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  reply (b);
  return all_ok ? 0 : 1;
}

/* One command per line, one JSON reply per line:
 *   {"do":"ins","pos":0,"text":"hi"}   {"do":"del","pos":0,"len":1}
 *   {"do":"set","field":"title","value":"x"}   {"do":"undo"}   {"do":"redo"}
 *   {"do":"receive","events":[...]}    {"do":"events","since":{...}}
 *   {"do":"text"}
 * Edits reply with the events they made, ready for another peer. */
static int
cmd_edit (int    argc,
         char **argv)
{
  TandemNote *note = NULL;
  g_autoptr(TandemNote) memory_note = NULL;
  g_autoptr(TandemStore) store = NULL;
  g_autoptr(TandemSavedNote) saved = NULL;
  guint64 peer = g_random_int () | ((guint64) g_random_int () << 32);
  g_autoptr(GIOChannel) in = g_io_channel_unix_new (0);
  const char *profile = NULL;
  gboolean brief = FALSE, memory = FALSE;
  char *line = NULL;
  gsize length;

  for (int i = 0; i < argc; i++)
    if (g_str_equal (argv[i], "--peer") && i + 1 < argc)
      {
        if (!tandem_peer_id_from_string (argv[++i], &peer))
          {
            g_printerr ("--peer needs 16 lower-case hex digits\n");
            return 2;
          }
      }
    else if (g_str_equal (argv[i], "--profile") && i + 1 < argc)
      profile = argv[++i];
    else if (g_str_equal (argv[i], "--brief"))
      brief = TRUE;
    else if (g_str_equal (argv[i], "--memory"))
      memory = TRUE;
    else
      {
        g_printerr ("Unexpected argument %s\n%s", argv[i], usage);
        return 2;
      }

  if (!memory)
    {
      g_autoptr(GError) error = NULL;

      /* profile NULL: the default one */
      if (!(saved = open_profile_note (profile, &store, &error)))
        {
          g_printerr ("Cannot open the profile: %s\n", error->message);
          return 1;
        }
      note = tandem_saved_note_get_note (saved);
    }
  else
    note = memory_note = tandem_note_new (peer);
  set_default_policies (note);

  while (g_io_channel_read_line (in, &line, &length, NULL, NULL) == G_IO_STATUS_NORMAL)
    {
      g_autofree char *owned = line;
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) made = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_event_unref);
      g_autoptr(JsonBuilder) b = json_builder_new ();
      JsonObject *cmd;
      const char *what;
      TandemEvent *event = NULL;
      gboolean ok = TRUE;

      g_strstrip (owned);
      if (*owned == '\0')
        continue;
      if (tandem_json_has_nul (owned, -1))
        {
          reply_error ("a command may not contain a NUL character");
          continue;
        }
      if (!json_parser_load_from_data (parser, owned, -1, &error) ||
          !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        {
          reply_error (error ? error->message : "a command is a JSON object");
          continue;
        }
      cmd = json_node_get_object (json_parser_get_root (parser));
      what = json_object_get_string_member_with_default (cmd, "do", "");

      if (g_str_equal (what, "ins"))
        event = tandem_note_insert (note, json_object_get_int_member_with_default (cmd, "pos", 0),
                                    json_object_get_string_member_with_default (cmd, "text", ""), &error);
      else if (g_str_equal (what, "del"))
        event = tandem_note_delete (note, json_object_get_int_member_with_default (cmd, "pos", 0),
                                    json_object_get_int_member_with_default (cmd, "len", 0), &error);
      else if (g_str_equal (what, "set") || g_str_equal (what, "unset"))
        {
          const char *value = json_object_get_string_member_with_default (cmd, "value", NULL);

          event = tandem_note_set_field (note, json_object_get_string_member_with_default (cmd, "field", ""),
                                         value && g_str_equal (what, "set") ? g_variant_new_string (value) : NULL,
                                         &error);
        }
      else if (g_str_equal (what, "undo") || g_str_equal (what, "redo"))
        {
          GPtrArray *events = g_str_equal (what, "undo") ? tandem_note_undo (note, &error)
                                                        : tandem_note_redo (note, &error);
          if (events != NULL)
            g_ptr_array_extend_and_steal (made, events);
          ok = events != NULL;
        }
      else if (g_str_equal (what, "receive"))
        {
          JsonNode *list = json_object_get_member (cmd, "events");
          g_autofree char *text = list ? tandem_json_to_string (list, NULL) : g_strdup ("null");
          g_autoptr(GPtrArray) events = tandem_events_from_string (text, -1, &error);

          for (guint i = 0; events && i < events->len && ok; i++)
            ok = tandem_note_receive (note, g_ptr_array_index (events, i), &error);
          ok &= events != NULL;
        }
      else if (g_str_equal (what, "events"))
        {
          JsonNode *since = json_object_get_member (cmd, "since");
          g_autoptr(TandemVersionVector) vv = since ? tandem_version_vector_from_json (since, &error) : NULL;
          g_autoptr(GPtrArray) events = NULL;

          if (since == NULL || vv != NULL)
            {
              events = tandem_note_dup_events_since (note, vv);
              g_ptr_array_extend_and_steal (made, g_steal_pointer (&events));
            }
          else
            ok = FALSE;
        }
      else if (!g_str_equal (what, "text"))
        {
          reply_error ("unknown command; see tandem-peer --help");
          continue;
        }

      if (event != NULL)
        g_ptr_array_add (made, event);
      else if (error != NULL)
        ok = FALSE;
      if (!ok)
        {
          reply_error (error ? error->message : "failed");
          continue;
        }
      /* nothing is reported before it is saved */
      if (saved != NULL && !tandem_saved_note_commit (saved, &error))
        {
          g_autofree char *message = g_strdup_printf ("not saved: %s", error->message);

          reply_error (message);
          continue;
        }
      if (brief)
        {
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "saved");
          json_builder_add_int_value (b, saved ? tandem_saved_note_get_saved_events (saved) : 0);
          json_builder_set_member_name (b, "length");
          json_builder_add_int_value (b, tandem_note_get_length (note));
          json_builder_end_object (b);
          reply (b);
          continue;
        }

      {
        g_autofree char *text = tandem_note_dup_text (note);

        json_builder_begin_object (b);
        json_builder_set_member_name (b, "text");
        json_builder_add_string_value (b, text);
        json_builder_set_member_name (b, "events");
        json_builder_begin_array (b);
        for (guint i = 0; i < made->len; i++)
          json_builder_add_value (b, tandem_event_to_json (g_ptr_array_index (made, i)));
        json_builder_end_array (b);
        json_builder_set_member_name (b, "version");
        json_builder_add_value (b, tandem_version_vector_to_json (tandem_note_get_version (note)));
        if (saved != NULL)
          {
            json_builder_set_member_name (b, "saved");
            json_builder_add_int_value (b, tandem_saved_note_get_saved_events (saved));
          }
        json_builder_end_object (b);
        reply (b);
      }
    }
  return 0;
}

int
main (int    argc,
      char **argv)
{
  setlocale (LC_ALL, "");

  if (argc < 2 || g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h"))
    {
      fputs (usage, argc < 2 ? stderr : stdout);
      return argc < 2 ? 2 : 0;
    }
  if (g_str_equal (argv[1], "scenario"))
    return cmd_scenario (argc - 2, argv + 2);
  if (g_str_equal (argv[1], "replay"))
    return cmd_replay (argc - 2, argv + 2);
  if (g_str_equal (argv[1], "run"))
    return tandem_peer_run_main (argc - 2, argv + 2);
  if (g_str_equal (argv[1], "edit"))
    return cmd_edit (argc - 2, argv + 2);
  if (g_str_equal (argv[1], "verify"))
    return cmd_verify (argc - 2, argv + 2);
  if (g_str_equal (argv[1], "history"))
    return cmd_history (argc - 2, argv + 2);
  if (g_str_equal (argv[1], "show"))
    return cmd_show (argc - 2, argv + 2);
  if (g_str_equal (argv[1], "restore-version"))
    return cmd_restore_version (argc - 2, argv + 2);
  if (g_str_equal (argv[1], "snapshot"))
    return cmd_snapshot (argc - 2, argv + 2);
  if (g_str_equal (argv[1], "thin-history"))
    return cmd_thin_history (argc - 2, argv + 2);
  if (g_str_equal (argv[1], "list"))
    return cmd_list (argc - 2, argv + 2);
  if (g_str_equal (argv[1], "trash") || g_str_equal (argv[1], "restore"))
    return cmd_trash (argc - 2, argv + 2, g_str_equal (argv[1], "trash"));
  if (g_str_equal (argv[1], "empty-trash"))
    return cmd_empty_trash (argc - 2, argv + 2);
  if (g_str_equal (argv[1], "export"))
    return cmd_export (argc - 2, argv + 2);
  if (g_str_equal (argv[1], "import"))
    return cmd_import (argc - 2, argv + 2);
  g_printerr ("Unknown command %s\n%s", argv[1], usage);
  return 2;
}
