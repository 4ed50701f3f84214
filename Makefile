# The two README commands. Both create .venv and install on first use.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PROFILE ?= quick

.PHONY: reproduce test install doctor clean-executed

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	# CPU build of torch first (a plain `torch` requirement would pull several GB of CUDA packages)
	$(BIN)/python -m pip install "torch==2.13.0" || $(BIN)/python -m pip install torch
	$(BIN)/python -m pip install -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

install: $(STAMP)

reproduce: $(STAMP)
	$(BIN)/softnodule reproduce --profile $(PROFILE)

test: $(STAMP)
	SOFTNODULE_PROFILE=smoke $(BIN)/python -m pytest tests notebooks --nbval-lax

doctor: $(STAMP)
	$(BIN)/softnodule doctor

clean-executed:
	rm -rf executed
