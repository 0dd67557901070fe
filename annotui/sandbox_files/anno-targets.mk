# The sandbox's anno-targets Makefile: the runbook's artifact targets, faked (nothing is fetched).
.PHONY: fetch-singularity-release build-annobuilder download-anno-package download-amg-package download-data tar-data

fetch-singularity-release:
	@mkdir -p build && echo "anno-targets release image (sandbox)" > build/anno-targets.sif
	@echo "fetched the release image into build/anno-targets.sif (sandbox: nothing downloaded)"

build-annobuilder:
	@echo "built the annobuilder image (sandbox)"

download-anno-package download-amg-package:
	@echo "downloaded package $(PKG_NAME) (sandbox)"

download-data:
	@echo "downloaded all data (sandbox)"

tar-data:
	@echo "packed $(PKG_NAMES) into $(TAR_OUTPUT) (sandbox)"
