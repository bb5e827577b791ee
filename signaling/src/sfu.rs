//! The real media plane behind [`MediaPlane`].
