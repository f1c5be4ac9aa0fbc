"""Every path the project uses, from one root (never from the current directory)."""
from pathlib import Path

PROJ_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = PROJ_ROOT / "data"
LABELS_DIR = DATA_DIR / "labels"
REPORTS_DIR = DATA_DIR / "reports"
DOCUMENTS_FILE = DATA_DIR / "documents.yaml"  # what each labelled source document is
TAXONOMY_FILE = DATA_DIR / "taxonomy.yaml"
# Inside the package so that the tokenizer travels with code shipped next to a model.
USER_DICT_FILE = Path(__file__).resolve().parent / "resources" / "userdict.txt"
MODELS_DIR = PROJ_ROOT / "models"
DEFAULT_MODEL_FILE = MODELS_DIR / "fazhi-model.joblib"
MODEL_CARD_FILE = MODELS_DIR / "model-card.json"
# A CJK font that ships with the package, so charts never fall back to empty boxes.
CJK_FONT_FILE = Path(__file__).resolve().parent / "resources" / "fonts" / "wqy-microhei.ttc"
