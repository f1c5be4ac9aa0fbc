"""Export a registered model (default: the champion) to models/ (MLflow entry point `export`)."""
from __future__ import annotations

import argparse
import sys

from training.registry import CHAMPION_ALIAS, REGISTERED_MODEL, export_model


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.export", description=__doc__)
    parser.add_argument("--registered-model", default=REGISTERED_MODEL)
    parser.add_argument("--alias", default=CHAMPION_ALIAS, help="alias to export (ignored with --version)")
    parser.add_argument("--version", default=None, help="a version number to export instead of the alias")
    args = parser.parse_args(argv)
    ref = f"/{args.version}" if args.version else f"@{args.alias}"
    try:
        card = export_model(f"models:/{args.registered_model}{ref}", args.registered_model)
    except Exception as exc:  # registry errors: a message, not a traceback
        print(f"error: cannot export models:/{args.registered_model}{ref}: {exc}", file=sys.stderr)
        return 2
    print(f"exported {card['version']} to models/{card['file']} "
          f"(area macro-F1 {card['metrics'].get('area_macro_f1')}, "
          f"category macro-F1 {card['metrics'].get('category_macro_f1')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
