/**
 * nb_orchestra's JupyterLab 4 / Notebook 7 extension: a cell whose first non-blank line is
 * `%%flow` (or `%%flowtest`) is highlighted as YAML, with `{{ … }}` and `{% … %}` marked as
 * Pebble expressions; every other cell keeps its language (Python).
 *
 * One CodeMirror extension added to every editor: it watches the editor's own text, so a cell
 * switches to YAML as `%%flow` is typed and back when it is removed. The YAML is CodeMirror's
 * legacy YAML mode, the one JupyterLab uses for .yaml files, so the colours are the theme's.
 * Tokens of a flow cell also carry CodeMirror's `tok-*` class names (keys are `tok-atom`).
 *
 * Built into ../nb_orchestra/labextension by `python labextension/build.py` (docs/notebook.md).
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { EditorExtensionRegistry, IEditorExtensionRegistry } from '@jupyterlab/codemirror';
import { languageDataProp, StreamLanguage, syntaxHighlighting } from '@codemirror/language';
import { yaml } from '@codemirror/legacy-modes/mode/yaml';
import { Compartment, EditorState, Extension, Prec, RangeSetBuilder, StateField, Text } from '@codemirror/state';
import { Decoration, DecorationSet, EditorView } from '@codemirror/view';
import { classHighlighter, Highlighter } from '@lezer/highlight';

/** The cell magics whose body is YAML: `%%flow` and `%%flowtest`, with or without options. */
const MAGIC = /^%%flow(?:test)?(?=\s|$)/;
/** Pebble expressions and tags (within one line). */
const EXPRESSION = /\{\{.*?\}\}|\{%.*?%\}/g;

const flowLanguage = StreamLanguage.define(yaml);

const magicMark = Decoration.mark({ class: 'cm-nbo-magic' });
const expressionMark = Decoration.mark({ class: 'cm-nbo-expression' });

/** The line holding the magic (1-based), or 0 when this is not a flow cell. IPython, too, skips
 * blank lines before a cell magic. */
function magicLine(doc: Text): number {
  for (let n = 1; n <= doc.lines; n++) {
    const text = doc.line(n).text;
    if (text.trim() !== '') {
      return MAGIC.test(text) ? n : 0;
    }
  }
  return 0;
}

function marks(doc: Text): DecorationSet {
  const builder = new RangeSetBuilder<Decoration>();
  const magic = magicLine(doc);
  if (magic) {
    const first = doc.line(magic);
    builder.add(first.from, first.from + MAGIC.exec(first.text)![0].length, magicMark);
    for (let n = magic + 1; n <= doc.lines; n++) {
      const line = doc.line(n);
      for (const match of line.text.matchAll(EXPRESSION)) {
        const from = line.from + match.index!;
        builder.add(from, from + match[0].length, expressionMark);
      }
    }
  }
  return builder.finish();
}

const flowMarks = StateField.define<DecorationSet>({
  create: state => marks(state.doc),
  update: (value, tr) => (tr.docChanged ? marks(tr.newDoc) : value),
  provide: field => EditorView.decorations.from(field)
});

/** CodeMirror's `tok-*` class names on the tokens of flow cells only. */
const flowClasses: Highlighter = {
  style: tags => classHighlighter.style(tags),
  scope: type => type.prop(languageDataProp) === flowLanguage.data
};

/** What a flow cell adds: YAML as the document language, at the highest precedence so that it
 * wins over the editor's own (Python), which comes back as soon as this is removed. */
const FLOW: Extension = [Prec.highest(flowLanguage), flowMarks, syntaxHighlighting(flowClasses)];

/** The extension of one editor: FLOW in a compartment, switched on and off as the text's
 * first line becomes or stops being a flow magic. */
export function flowCells(text: string): Extension {
  const compartment = new Compartment();
  const isFlow = (doc: Text) => magicLine(doc) > 0;
  return [
    compartment.of(isFlow(Text.of(text.split(/\r?\n/))) ? FLOW : []),
    EditorState.transactionExtender.of(tr => {
      if (!tr.docChanged) {
        return null;
      }
      const flow = isFlow(tr.newDoc);
      if (flow === (compartment.get(tr.startState) === FLOW)) {
        return null;
      }
      return { effects: compartment.reconfigure(flow ? FLOW : []) };
    })
  ];
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'nb-orchestra:flow-highlighting',
  description: 'Highlights %%flow cells as YAML, with {{ }} and {% %} marked as expressions.',
  autoStart: true,
  requires: [IEditorExtensionRegistry],
  activate: (_app: JupyterFrontEnd, extensions: IEditorExtensionRegistry): void => {
    extensions.addExtension({
      name: 'nb-orchestra:flow-cells',
      // The editor's first text is its model's: a flow cell is YAML from its first paint.
      factory: ({ model }) =>
        EditorExtensionRegistry.createImmutableExtension(flowCells(model.sharedModel.getSource()))
    });
  }
};

export default plugin;
