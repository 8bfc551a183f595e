/* test-input-method.c: an input method the window tests drive
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A GtkIMContext registered as the input method module "tandem-test", so
 * that a GtkTextView's own IM machinery (its GtkIMMulticontext, its
 * preedit and commit handlers) runs as it does under IBus, while the test
 * says what the user composes. Like a real input method, it drops the
 * composition when GTK resets it; the resets are counted, as a reset
 * while someone composes is what a user sees as their input broken.
 */
#include "test-input-method.h"

#include <gtk/gtkimmodule.h>

struct _TestInputMethod
{
  GtkIMContext parent_instance;

  char *preedit;                /* NULL: not composing */
  guint resets;
};

G_DEFINE_FINAL_TYPE (TestInputMethod, test_input_method, GTK_TYPE_IM_CONTEXT)

/* the one GTK made last: the text view's (tests have one view focused) */
static TestInputMethod *last;

static void
test_input_method_get_preedit_string (GtkIMContext   *context,
                                      char          **str,
                                      PangoAttrList **attrs,
                                      int            *cursor_pos)
{
  TestInputMethod *self = TEST_INPUT_METHOD (context);
  const char *preedit = self->preedit ? self->preedit : "";

  if (str != NULL)
    *str = g_strdup (preedit);
  if (attrs != NULL)
    {
      *attrs = pango_attr_list_new ();
      pango_attr_list_insert (*attrs, pango_attr_underline_new (PANGO_UNDERLINE_SINGLE));
    }
  if (cursor_pos != NULL)
    *cursor_pos = (int) g_utf8_strlen (preedit, -1);
}

static void
end_composition (TestInputMethod *self)
{
  if (self->preedit == NULL)
    return;
  g_clear_pointer (&self->preedit, g_free);
  g_signal_emit_by_name (self, "preedit-changed");
  g_signal_emit_by_name (self, "preedit-end");
}

static void
test_input_method_reset (GtkIMContext *context)
{
  TestInputMethod *self = TEST_INPUT_METHOD (context);

  self->resets++;
  end_composition (self);
}

static void
test_input_method_finalize (GObject *object)
{
  TestInputMethod *self = TEST_INPUT_METHOD (object);

  if (last == self)
    last = NULL;
  g_free (self->preedit);
  G_OBJECT_CLASS (test_input_method_parent_class)->finalize (object);
}

static void
test_input_method_class_init (TestInputMethodClass *klass)
{
  GtkIMContextClass *im_class = GTK_IM_CONTEXT_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = test_input_method_finalize;
  im_class->get_preedit_string = test_input_method_get_preedit_string;
  im_class->reset = test_input_method_reset;
}

static void
test_input_method_init (TestInputMethod *self)
{
  last = self;
}

/* After gtk_init(): GTK's extension point exists by then. */
void
test_input_method_register (void)
{
  g_io_extension_point_implement (GTK_IM_MODULE_EXTENSION_POINT_NAME, TEST_TYPE_INPUT_METHOD,
                                  TEST_INPUT_METHOD_ID, 0);
}

/**
 * test_input_method_get_last:
 *
 * Returns: (nullable) (transfer none): the input method GTK made last
 */
TestInputMethod *
test_input_method_get_last (void)
{
  return last;
}

/* The user has typed keys that compose @preedit, not yet committed. */
void
test_input_method_compose (TestInputMethod *self,
                           const char      *preedit)
{
  gboolean starting = self->preedit == NULL;

  g_free (self->preedit);
  self->preedit = g_strdup (preedit);
  if (starting)
    g_signal_emit_by_name (self, "preedit-start");
  g_signal_emit_by_name (self, "preedit-changed");
}

/* The user chose @text: the composition ends and @text is typed. */
void
test_input_method_commit (TestInputMethod *self,
                          const char      *text)
{
  end_composition (self);
  g_signal_emit_by_name (self, "commit", text);
}

guint
test_input_method_get_resets (TestInputMethod *self)
{
  return self->resets;
}

void
test_input_method_forget_resets (TestInputMethod *self)
{
  self->resets = 0;
}
