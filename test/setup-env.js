// Tests never reach Google Cloud: google-auth-library must not probe the GCE metadata server.
process.env.METADATA_SERVER_DETECTION = 'none';
