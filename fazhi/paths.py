"""Every path the project uses, from one root (never from the current directory).

In a source checkout (the root holds pyproject.toml) the data, the models and the local
stores live at the repository root. An installed package (`pip install .`) carries what it
needs to run in fazhi/resources/: the taxonomy and the committed model are links there to
data/taxonomy.yaml and models/, which the wheel build copies in; its local stores (fazhi.db,
mlflow.db) go to the current directory, never into site-packages.
"""
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJ_ROOT = PACKAGE_DIR.parent
RESOURCES_DIR = PACKAGE_DIR / "resources"
SOURCE_CHECKOUT = (PROJ_ROOT / "pyproject.toml").is_file()

DATA_DIR = PROJ_ROOT / "data"
LABELS_DIR = DATA_DIR / "labels"
REPORTS_DIR = DATA_DIR / "reports"
# Invented reports of kinds the seeds lack, labelled, that never train (training/probe.py).
PROBE_DIR = DATA_DIR / "probe"
DOCUMENTS_FILE = DATA_DIR / "documents.yaml"  # what each labelled source document is
TAXONOMY_FILE = DATA_DIR / "taxonomy.yaml" if SOURCE_CHECKOUT else RESOURCES_DIR / "taxonomy.yaml"
# Inside the package so that the tokenizer travels with code shipped next to a model.
USER_DICT_FILE = RESOURCES_DIR / "userdict.txt"
MODELS_DIR = PROJ_ROOT / "models" if SOURCE_CHECKOUT else RESOURCES_DIR / "models"
DEFAULT_MODEL_FILE = MODELS_DIR / "fazhi-model.joblib"
MODEL_CARD_FILE = MODELS_DIR / "model-card.json"
# Local stores: the history database and the MLflow tracking store.
STORE_DIR = PROJ_ROOT if SOURCE_CHECKOUT else Path.cwd()
DEFAULT_DATABASE_FILE = STORE_DIR / "fazhi.db"
MLFLOW_STORE_FILE = STORE_DIR / "mlflow.db"
# A CJK font that ships with the package, so charts never fall back to empty boxes.
CJK_FONT_FILE = RESOURCES_DIR / "fonts" / "wqy-microhei.ttc"
