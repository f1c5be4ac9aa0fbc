"""The fazhi classifier as an MLflow pyfunc model (for load_model and spark_udf)."""
from __future__ import annotations

import mlflow.pyfunc


class FazhiPyfunc(mlflow.pyfunc.PythonModel):
    """Input: sentences (a list, a Series, or a DataFrame whose first column holds them).
    Output: a DataFrame with area, category and concrete_prob per sentence."""

    def load_context(self, context):
        from fazhi.model import load_classifier
        from fazhi.tokenizer import initialize

        self.classifier = load_classifier(context.artifacts["classifier"])
        initialize()

    def predict(self, context, model_input, params=None):
        import pandas as pd

        if isinstance(model_input, pd.DataFrame):
            texts = model_input.iloc[:, 0]
        else:
            texts = model_input
        texts = ["" if t is None else str(t) for t in texts]
        rows = self.classifier.predict(texts)
        return pd.DataFrame({"area": [r["area"] for r in rows],
                             "category": [r["category"] for r in rows],
                             "concrete_prob": [r["concrete_prob"] for r in rows]})
