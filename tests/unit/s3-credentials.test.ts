import { loadDeliveryConfig } from '../../src/config/delivery-config';
import { S3ObjectStore } from '../../src/delivery/object-store';

describe('explicit S3 credentials', () => {
  const env = {
    AWS_S3_BUCKET_NAME: 'reports',
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'ASIAEXAMPLEKEYID0001',
    AWS_SECRET_ACCESS_KEY: 'example-secret-access-key-0001',
  };

  it('signs presigned links with the session token of temporary credentials', async () => {
    const s3 = loadDeliveryConfig({ ...env, AWS_SESSION_TOKEN: 'example-session-token-0001' }).s3;
    if (!s3) throw new Error('S3 not configured');
    const store = new S3ObjectStore(s3);
    try {
      const url = new URL(await store.presignGet('reports/x.csv', 60));
      expect({
        token: url.searchParams.get('X-Amz-Security-Token'),
        credential: url.searchParams.get('X-Amz-Credential')?.split('/')[0],
      }).toEqual({ token: 'example-session-token-0001', credential: 'ASIAEXAMPLEKEYID0001' });
    } finally {
      store.close();
    }
  });

  it('signs without a token when only long-lived keys are given', async () => {
    const s3 = loadDeliveryConfig(env).s3;
    if (!s3) throw new Error('S3 not configured');
    const store = new S3ObjectStore(s3);
    try {
      const url = new URL(await store.presignGet('reports/x.csv', 60));
      expect(url.searchParams.get('X-Amz-Security-Token')).toBeNull();
    } finally {
      store.close();
    }
  });
});
