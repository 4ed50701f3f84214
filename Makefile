# The two README commands. Both create .venv and install on first use.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PROFILE ?= quick

.PHONY: reproduce test install doctor clean-executed browser

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

# The inspector's browser test drives Debian's chromium through chromedriver; installed here when missing
# (root or sudo on Debian/Ubuntu). Elsewhere the test is skipped with the reason, except in CI, where it fails.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif command -v apt-get >/dev/null; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null \
	    || echo "make: could not install chromium + chromium-driver; the browser test will be skipped"; \
	else echo "make: no apt-get: install chromium and chromedriver yourself for the browser test"; fi

test: $(STAMP) browser
	SOFTNODULE_PROFILE=smoke $(BIN)/python -m pytest tests notebooks --nbval-lax

doctor: $(STAMP)
	$(BIN)/softnodule doctor

clean-executed:
	rm -rf executed
