import { useEffect, useRef, useState } from 'preact/hooks';
import { productByGtin, searchProducts, type Product } from './api';
import { BarcodeReader, canReadBarcodes } from './barcode';
import { Failure } from './status';

const GTIN = /^\d{8}$|^\d{12,14}$/;
const TYPING_PAUSE_MS = 250;

/** Suggestions for what is typed: a GTIN finds its product, words search name, brand and active ingredient. */
async function suggestionsFor(text: string, signal: AbortSignal): Promise<Product[]> {
  const typed = text.trim();
  if (GTIN.test(typed)) {
    try {
      return [await productByGtin(typed, signal)];
    } catch (error) {
      if ((error as { status?: number }).status === 404) return [];
      throw error;
    }
  }
  return typed.length < 2 ? [] : (await searchProducts(typed, signal)).items;
}

/** A combobox: type, pick a suggestion with the mouse or the arrow keys and Enter. */
export function ProductPicker({ initialText = '', onPick }: { initialText?: string; onPick(product: Product): void }) {
  const [text, setText] = useState(initialText);
  const [suggestions, setSuggestions] = useState<Product[]>([]);
  const [active, setActive] = useState(-1);
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<unknown>();
  const picked = useRef<string>(initialText);
  const [scanning, setScanning] = useState(false);
  /** A code read by the camera names one product: it is picked without a tap. */
  const pickIfOne = useRef(false);
  /** The text the suggestions shown were found for: Enter picks only what answers the text as it is now. */
  const suggestedFor = useRef('');

  useEffect(() => {
    if (text === picked.current) return;
    const controller = new AbortController();
    const timer = setTimeout(() => {
      suggestionsFor(text, controller.signal).then(
        (found) => {
          if (pickIfOne.current && found.length === 1) return pick(found[0]);
          suggestedFor.current = text;
          setSuggestions(found);
          setActive(found.length ? 0 : -1);
          setOpen(text.trim().length >= 2);
          setError(undefined);
        },
        (failure: unknown) => controller.signal.aborted || setError(failure),
      );
    }, TYPING_PAUSE_MS);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [text]);

  const pick = (product: Product) => {
    pickIfOne.current = false;
    picked.current = product.name;
    setText(product.name);
    setOpen(false);
    onPick(product);
  };

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const step = event.key === 'ArrowDown' ? 1 : -1;
      setActive((current) => (suggestions.length ? (current + step + suggestions.length) % suggestions.length : -1));
      setOpen(true);
    } else if (event.key === 'Enter' && open && suggestions[active]) {
      event.preventDefault();
      // Typed faster than the suggestions came: those shown are for an older text.
      if (suggestedFor.current === text) pick(suggestions[active]);
    } else if (event.key === 'Escape') {
      setOpen(false);
    }
  };

  return (
    <div class="picker">
      <label for="busca">Medicamento</label>
      <input
        id="busca"
        type="search"
        role="combobox"
        autocomplete="off"
        placeholder="Nome, marca, princípio ativo ou código de barras"
        aria-autocomplete="list"
        aria-expanded={open}
        aria-controls="sugestoes"
        aria-activedescendant={open && active >= 0 ? `sugestao-${active}` : undefined}
        value={text}
        onInput={(event) => {
          pickIfOne.current = false;
          setText((event.target as HTMLInputElement).value);
        }}
        onKeyDown={onKeyDown}
        onBlur={() => setOpen(false)}
      />
      {open && (
        <ul id="sugestoes" role="listbox" aria-label="Sugestões" class="suggestions">
          {suggestions.length === 0 && (
            <li role="option" aria-disabled="true" aria-selected="false" class="empty">
              Nenhum medicamento encontrado.
            </li>
          )}
          {suggestions.map((product, index) => (
            <li
              id={`sugestao-${index}`}
              key={product.id}
              role="option"
              aria-selected={index === active}
              onMouseDown={(event) => {
                event.preventDefault();
                pick(product);
              }}
            >
              <strong>{product.name}</strong> <span class="muted">{product.presentation} · {product.brand}</span>
            </li>
          ))}
        </ul>
      )}
      {canReadBarcodes() && !scanning && (
        <button type="button" class="secondary" onClick={() => setScanning(true)}>
          Ler o código de barras
        </button>
      )}
      {scanning && (
        <BarcodeReader
          onRead={(code) => {
            setScanning(false);
            pickIfOne.current = true;
            setText(code);
          }}
          onClose={() => setScanning(false)}
        />
      )}
      {error !== undefined && <Failure error={error} />}
    </div>
  );
}
