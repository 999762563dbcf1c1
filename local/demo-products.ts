import { gtinCheckDigit } from '../shared/catalog/domain/gtin';

type Row = [name: string, brand: string, manufacturer: string, ingredients: string, presentation: string, form: string, category: string, prescription: string, generic: boolean];

// A plausible Brazilian pharmacy shelf: OTC, prescription and retained-prescription
// medicines, generics next to their reference brands, and the rest of the shop.
const ROWS: Row[] = [
  ['Dipirona Sódica 500 mg', 'Novalgina', 'Sanofi', 'dipirona sódica', '500 mg, 20 comprimidos', 'tablet', 'medicines', 'none', false],
  ['Dipirona Sódica 500 mg', 'EMS Genérico', 'EMS', 'dipirona sódica', '500 mg, 10 comprimidos', 'tablet', 'generics', 'none', true],
  ['Dipirona Sódica Gotas 500 mg/ml', 'Medley Genérico', 'Medley', 'dipirona sódica', '500 mg/ml, 20 ml', 'drops', 'generics', 'none', true],
  ['Paracetamol 750 mg', 'Tylenol', 'Johnson & Johnson', 'paracetamol', '750 mg, 20 comprimidos', 'tablet', 'medicines', 'none', false],
  ['Paracetamol 750 mg', 'Neo Química Genérico', 'Neo Química', 'paracetamol', '750 mg, 20 comprimidos', 'tablet', 'generics', 'none', true],
  ['Ibuprofeno 400 mg', 'Advil', 'Haleon', 'ibuprofeno', '400 mg, 8 cápsulas', 'capsule', 'medicines', 'none', false],
  ['Ibuprofeno 600 mg', 'Prati-Donaduzzi Genérico', 'Prati-Donaduzzi', 'ibuprofeno', '600 mg, 20 comprimidos', 'coated-tablet', 'generics', 'none', true],
  ['Ácido Acetilsalicílico 500 mg', 'Aspirina', 'Bayer', 'ácido acetilsalicílico', '500 mg, 20 comprimidos', 'tablet', 'medicines', 'none', false],
  ['Nimesulida 100 mg', 'EMS Genérico', 'EMS', 'nimesulida', '100 mg, 12 comprimidos', 'tablet', 'generics', 'required', true],
  ['Amoxicilina 500 mg', 'Amoxil', 'GSK', 'amoxicilina', '500 mg, 21 cápsulas', 'capsule', 'medicines', 'retained', false],
  ['Amoxicilina 500 mg', 'Eurofarma Genérico', 'Eurofarma', 'amoxicilina', '500 mg, 21 cápsulas', 'capsule', 'generics', 'retained', true],
  ['Azitromicina 500 mg', 'Zitromax', 'Pfizer', 'azitromicina', '500 mg, 3 comprimidos', 'coated-tablet', 'medicines', 'retained', false],
  ['Azitromicina 500 mg', 'Medley Genérico', 'Medley', 'azitromicina', '500 mg, 3 comprimidos', 'coated-tablet', 'generics', 'retained', true],
  ['Cefalexina 500 mg', 'EMS Genérico', 'EMS', 'cefalexina', '500 mg, 8 cápsulas', 'capsule', 'generics', 'retained', true],
  ['Losartana Potássica 50 mg', 'Cozaar', 'Organon', 'losartana potássica', '50 mg, 30 comprimidos', 'coated-tablet', 'medicines', 'required', false],
  ['Losartana Potássica 50 mg', 'Neo Química Genérico', 'Neo Química', 'losartana potássica', '50 mg, 30 comprimidos', 'coated-tablet', 'generics', 'required', true],
  ['Hidroclorotiazida 25 mg', 'EMS Genérico', 'EMS', 'hidroclorotiazida', '25 mg, 30 comprimidos', 'tablet', 'generics', 'required', true],
  ['Atenolol 50 mg', 'Biosintética Genérico', 'Biosintética', 'atenolol', '50 mg, 30 comprimidos', 'tablet', 'generics', 'required', true],
  ['Metformina 850 mg', 'Glifage', 'Merck', 'cloridrato de metformina', '850 mg, 30 comprimidos', 'tablet', 'medicines', 'required', false],
  ['Metformina 850 mg', 'Prati-Donaduzzi Genérico', 'Prati-Donaduzzi', 'cloridrato de metformina', '850 mg, 30 comprimidos', 'tablet', 'generics', 'required', true],
  ['Sinvastatina 20 mg', 'Zocor', 'Organon', 'sinvastatina', '20 mg, 30 comprimidos', 'coated-tablet', 'medicines', 'required', false],
  ['Sinvastatina 20 mg', 'Medley Genérico', 'Medley', 'sinvastatina', '20 mg, 30 comprimidos', 'coated-tablet', 'generics', 'required', true],
  ['Omeprazol 20 mg', 'Losec', 'AstraZeneca', 'omeprazol', '20 mg, 28 cápsulas', 'capsule', 'medicines', 'required', false],
  ['Omeprazol 20 mg', 'EMS Genérico', 'EMS', 'omeprazol', '20 mg, 28 cápsulas', 'capsule', 'generics', 'required', true],
  ['Levotiroxina Sódica 50 mcg', 'Puran T4', 'Sanofi', 'levotiroxina sódica', '50 mcg, 30 comprimidos', 'tablet', 'medicines', 'required', false],
  ['Clonazepam 2 mg', 'Rivotril', 'Roche', 'clonazepam', '2 mg, 30 comprimidos', 'tablet', 'medicines', 'retained', false],
  ['Sertralina 50 mg', 'Zoloft', 'Pfizer', 'cloridrato de sertralina', '50 mg, 28 comprimidos', 'coated-tablet', 'medicines', 'retained', false],
  ['Fluoxetina 20 mg', 'EMS Genérico', 'EMS', 'cloridrato de fluoxetina', '20 mg, 30 cápsulas', 'capsule', 'generics', 'retained', true],
  ['Loratadina 10 mg', 'Claritin', 'Bayer', 'loratadina', '10 mg, 12 comprimidos', 'tablet', 'medicines', 'none', false],
  ['Desloratadina Xarope 0,5 mg/ml', 'Desalex', 'Organon', 'desloratadina', '0,5 mg/ml, 100 ml', 'syrup', 'medicines', 'none', false],
  ['Salbutamol Spray 100 mcg', 'Aerolin', 'GSK', 'sulfato de salbutamol', '100 mcg/dose, 200 doses', 'spray', 'medicines', 'required', false],
  ['Soro Fisiológico 0,9%', 'Arboreto', 'Arboreto', 'cloreto de sódio', '0,9%, 500 ml', 'solution', 'first-aid', 'none', false],
  ['Neosaldina', 'Neosaldina', 'Takeda', 'dipirona, isometepteno, cafeína', '30 drágeas', 'coated-tablet', 'medicines', 'none', false],
  ['Buscopan Composto', 'Buscopan', 'Boehringer Ingelheim', 'butilbrometo de escopolamina, dipirona', '20 comprimidos', 'coated-tablet', 'medicines', 'none', false],
  ['Dorflex', 'Dorflex', 'Sanofi', 'dipirona, orfenadrina, cafeína', '36 comprimidos', 'tablet', 'medicines', 'none', false],
  ['Vitamina C 1 g Efervescente', 'Redoxon', 'Bayer', 'ácido ascórbico', '1 g, 10 comprimidos efervescentes', 'tablet', 'vitamins', 'none', false],
  ['Vitamina D3 2000 UI', 'Addera D3', 'Cosmed', 'colecalciferol', '2000 UI, 30 cápsulas', 'capsule', 'vitamins', 'none', false],
  ['Polivitamínico A a Z', 'Centrum', 'Haleon', '', '60 comprimidos', 'tablet', 'vitamins', 'none', false],
  ['Ômega 3 1000 mg', 'Vitafor', 'Vitafor', 'óleo de peixe', '1000 mg, 60 cápsulas', 'capsule', 'vitamins', 'none', false],
  ['Sulfato Ferroso 40 mg', 'Neo Química Genérico', 'Neo Química', 'sulfato ferroso', '40 mg, 50 comprimidos', 'tablet', 'generics', 'none', true],
  ['Protetor Solar FPS 50', 'Anthelios', 'La Roche-Posay', '', '50 ml', 'cream', 'dermocosmetics', 'none', false],
  ['Hidratante Corporal', 'Cetaphil', 'Galderma', '', '473 ml', 'cream', 'dermocosmetics', 'none', false],
  ['Água Micelar', 'Sensibio H2O', 'Bioderma', '', '250 ml', 'solution', 'dermocosmetics', 'none', false],
  ['Creme Dental com Flúor', 'Colgate Total 12', 'Colgate-Palmolive', '', '90 g', 'gel', 'hygiene', 'none', false],
  ['Enxaguante Bucal', 'Listerine Cool Mint', 'Kenvue', '', '500 ml', 'solution', 'hygiene', 'none', false],
  ['Sabonete Líquido Antisséptico', 'Protex', 'Colgate-Palmolive', '', '250 ml', 'solution', 'hygiene', 'none', false],
  ['Fralda Infantil M', 'Pampers Confort Sec', 'Procter & Gamble', '', '46 unidades', 'other', 'baby', 'none', false],
  ['Pomada para Assaduras', 'Bepantol Baby', 'Bayer', 'dexpantenol', '60 g', 'ointment', 'baby', 'none', false],
  ['Lenço Umedecido', 'Huggies', 'Kimberly-Clark', '', '48 unidades', 'other', 'baby', 'none', false],
  ['Curativo Adesivo', 'Band-Aid', 'Kenvue', '', '40 unidades', 'other', 'first-aid', 'none', false],
  ['Álcool 70% Gel', 'Asseptgel', 'Start Química', 'álcool etílico', '500 ml', 'gel', 'first-aid', 'none', false],
  ['Gaze Estéril', 'Cremer', 'Cremer', '', '7,5 cm x 7,5 cm, 10 unidades', 'other', 'first-aid', 'none', false],
  ['Termômetro Digital', 'G-Tech', 'Accumed', '', '1 unidade', 'other', 'other', 'none', false],
];

function demoGtin(index: number): string {
  const body = `789${String(1_000_000 + index * 7_919).padStart(9, '0')}`;
  return body + gtinCheckDigit(body);
}

/** The demo products: 53 across every category, with valid EAN-13s. */
export function demoProducts() {
  return ROWS.map(([name, brand, manufacturer, ingredients, presentation, form, category, prescription, generic], index) => ({
    gtin: demoGtin(index),
    name,
    brand,
    manufacturer,
    activeIngredients: ingredients ? ingredients.split(', ') : [],
    presentation,
    form,
    category,
    prescription,
    generic,
  }));
}
