import { useEffect, useRef, useState } from 'preact/hooks';

/** The Shape Detection API's barcode reader (Chrome on Android, macOS, ChromeOS); not in TypeScript's DOM types yet. */
interface DetectedBarcode {
  rawValue: string;
}
interface BarcodeDetectorLike {
  detect(source: HTMLVideoElement): Promise<DetectedBarcode[]>;
}
type BarcodeDetectorConstructor = new (options: { formats: string[] }) => BarcodeDetectorLike;

const detectorClass = () => (globalThis as { BarcodeDetector?: BarcodeDetectorConstructor }).BarcodeDetector;

/** Whether this browser can read a barcode from the camera (elsewhere the GTIN is typed). */
export const canReadBarcodes = () => detectorClass() !== undefined && 'mediaDevices' in navigator;

const SCAN_EVERY_MS = 250;
/** The codes printed on medicine boxes. */
const FORMATS = ['ean_13', 'ean_8', 'upc_a', 'upc_e'];

/** The camera's picture until a code is read; `onRead` gets its digits. */
export function BarcodeReader({ onRead, onClose }: { onRead(code: string): void; onClose(): void }) {
  const video = useRef<HTMLVideoElement>(null);
  const [problem, setProblem] = useState<string>();
  useEffect(() => {
    let stream: MediaStream | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    (async () => {
      const Detector = detectorClass();
      if (!Detector || !video.current) return;
      const detector = new Detector({ formats: FORMATS });
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
      video.current.srcObject = stream;
      await video.current.play();
      const scan = async () => {
        if (stopped || !video.current) return;
        const [code] = await detector.detect(video.current).catch(() => []);
        if (code?.rawValue && /^\d{8,14}$/.test(code.rawValue)) return onRead(code.rawValue);
        timer = setTimeout(() => void scan(), SCAN_EVERY_MS);
      };
      await scan();
    })().catch((error: unknown) =>
      setProblem((error as { name?: string }).name === 'NotAllowedError' ? 'A câmera foi negada. Digite o código de barras.' : 'Não foi possível usar a câmera. Digite o código de barras.'),
    );
    return () => {
      stopped = true;
      clearTimeout(timer);
      stream?.getTracks().forEach((track) => track.stop());
    };
  }, []);
  return (
    <div class="barcode" role="group" aria-label="Leitor de código de barras">
      {problem ? (
        <p class="notice" role="alert">
          {problem}
        </p>
      ) : (
        <video ref={video} muted playsInline aria-label="Imagem da câmera: aponte para o código de barras da caixa" />
      )}
      <button type="button" class="secondary" onClick={onClose}>
        Fechar a câmera
      </button>
    </div>
  );
}
