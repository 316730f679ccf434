export const TARGET_HELP = `
Targets:
  REF, registry:REF              an image in a registry (docker.io/library/alpine:3.20, host:5000/app@sha256:...)
  oci-dir:PATH[:TAG]             an OCI image layout directory (alias oci:)
  oci-archive:PATH[:TAG]         a tar of an OCI image layout
  docker-archive:PATH[:REF]      a 'docker save' tar; REF picks one image when it holds several
  dir:PATH                       a root filesystem or project directory
  podman:REF                     an image in podman's local storage
  docker:REF                     an image of a Docker daemon (DOCKER_HOST or /var/run/docker.sock)
  sbom:PATH                      a stored SBOM (CycloneDX, SPDX, Syft or Drydock JSON) instead of an image (sbom only)

Exit codes: 0 success, 1 a check failed, 2 usage error, 3 and above runtime errors (see docs/errors.md).`;
