-- Indexes for public search at scale: filters that the full-text and date indexes cannot serve.
CREATE INDEX lot_region_published_idx ON lot (kato_region, published_at DESC, id DESC)
  WHERE published_at IS NOT NULL;
CREATE INDEX lot_amount_idx ON lot (amount) WHERE published_at IS NOT NULL;
CREATE INDEX lot_offers_end_idx ON lot (offers_end_at) WHERE published_at IS NOT NULL;
CREATE INDEX procurement_customer_published_idx
  ON procurement (customer_bin, published_at DESC, id DESC) WHERE published_at IS NOT NULL;
CREATE INDEX procurement_region_published_idx
  ON procurement (kato_region, published_at DESC, id DESC) WHERE published_at IS NOT NULL;
