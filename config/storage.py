"""Static files storage: WhiteNoise's hashed and compressed files once collected."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Hashed names from collectstatic's manifest; plain names where it never ran.

    `collectstatic` (the Dockerfile runs it) writes the manifest, and pages
    then link `base.3f2a...css`, which WhiteNoise serves with a far-future
    cache header. A checkout that never collected (the test suite, a local
    DEBUG=false run) has no manifest: Django's manifest storage would fail
    every page that links a static file, so plain names are used instead.
    With a manifest, a missing file is an error as usual.
    """

    def stored_name(self, name):
        if not self.hashed_files:
            return name
        return super().stored_name(name)
