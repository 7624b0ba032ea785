"""Starter kit for "Tumour detection from cell nuclei": trains on train.csv, writes submission.csv ready to upload.

    python starter.py      # with train.csv and test.csv (download them from the challenge page) beside it
    riality submit tumour-detection submission.csv     # or upload it on the challenge's team page

Scored by roc_auc. Change the model, the features, anything: the format of submission.csv is what counts.
"""

import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

train = pd.read_csv("train.csv", dtype={"id": str})
test = pd.read_csv("test.csv", dtype={"id": str})
features = [c for c in train.columns if c not in ("id", "diagnosis")]
model = HistGradientBoostingClassifier(random_state=0).fit(train[features], train["diagnosis"])
predicted = model.predict_proba(test[features])[:, 1].round(4)
pd.DataFrame({"id": test["id"], "diagnosis": predicted}).to_csv("submission.csv", index=False)
print(f"wrote submission.csv: {len(test)} rows")
