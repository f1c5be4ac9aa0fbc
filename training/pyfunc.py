"""The fazhi classifier as an MLflow pyfunc model (for load_model and spark_udf)."""
from __future__ import annotations

import mlflow.pyfunc


class FazhiPyfunc(mlflow.pyfunc.PythonModel):
    """Input: sentences (a list or Series), or a DataFrame whose first column (or `sentence`)
    holds them, optionally with `kind` (heading/body/furniture) and `context` (the section
    outline, from fazhi.splitter.section_contexts) columns: with both, the results equal
    `fazhi classify REPORT`'s; without, they equal `fazhi classify --sentences`'s.
    Output: a DataFrame with area, category and concrete_prob per sentence."""

    def load_context(self, context):
        from fazhi.model import load_classifier
        from fazhi.tokenizer import initialize

        self.classifier = load_classifier(context.artifacts["classifier"])
        initialize()

    def predict(self, context, model_input, params=None):
        import pandas as pd

        from fazhi.classify import classify_sentences, classify_units

        if isinstance(model_input, pd.DataFrame):
            column = "sentence" if "sentence" in model_input else model_input.columns[0]
            texts = ["" if t is None else str(t) for t in model_input[column]]
            if {"kind", "context"} <= set(model_input.columns):
                rows = classify_units(self.classifier, texts, list(model_input["kind"]),
                                      ["" if c is None else str(c) for c in model_input["context"]])
            else:
                rows = classify_sentences(self.classifier, texts)
        else:
            rows = classify_sentences(self.classifier, ["" if t is None else str(t) for t in model_input])
        return pd.DataFrame({"area": [r["area"] for r in rows],
                             "category": [r["category"] for r in rows],
                             "concrete_prob": [r["concrete_prob"] for r in rows]})
