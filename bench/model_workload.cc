// bench/model_workload.cc: customers, patches, visit reports and queries for `fieldsync-bench
// model` (see the header).
//
// The name and company tables overlap bench/storage_workload.cc's on purpose (the same common
// surnames, cities and company words) but are kept here: the model benchmark also needs pinyin per
// syllable (for initials queries), compound surnames, Latin names and the fields of the built-in
// schema, which the storage rows do not have.
#include "model_workload.h"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace fieldsync::bench {
namespace {

using nlohmann::json;

// Characters with a pinyin reading each, space-separated by syllable ("xiu ying"). None is
// polyphonic in a name, so ICU's Han-Latin/Names reads them as written here, and a pinyin query
// drawn from this table finds its record.
struct Han {
  const char* hanzi;
  const char* pinyin;
};

constexpr Han kSurnames[] = {
    {"张", "zhang"},     {"王", "wang"},    {"李", "li"},           {"刘", "liu"},
    {"陈", "chen"},      {"杨", "yang"},    {"黄", "huang"},        {"赵", "zhao"},
    {"吴", "wu"},        {"周", "zhou"},    {"徐", "xu"},           {"孙", "sun"},
    {"马", "ma"},        {"朱", "zhu"},     {"胡", "hu"},           {"郭", "guo"},
    {"何", "he"},        {"林", "lin"},     {"罗", "luo"},          {"高", "gao"},
    {"郑", "zheng"},     {"梁", "liang"},   {"谢", "xie"},          {"宋", "song"},
    {"唐", "tang"},      {"韩", "han"},     {"冯", "feng"},         {"邓", "deng"},
    {"曹", "cao"},       {"许", "xu"},      {"彭", "peng"},         {"田", "tian"},
    {"董", "dong"},      {"潘", "pan"},     {"袁", "yuan"},         {"蒋", "jiang"},
    {"蔡", "cai"},       {"杜", "du"},      {"叶", "ye"},           {"程", "cheng"},
    {"魏", "wei"},       {"苏", "su"},      {"丁", "ding"},         {"沈", "shen"},
    {"任", "ren"},       {"姚", "yao"},     {"卢", "lu"},           {"钟", "zhong"},
    {"欧阳", "ou yang"}, {"司马", "si ma"}, {"上官", "shang guan"}, {"诸葛", "zhu ge"},
};
constexpr Han kGivenNames[] = {
    {"伟", "wei"},        {"芳", "fang"},        {"娜", "na"},         {"敏", "min"},
    {"静", "jing"},       {"丽", "li"},          {"强", "qiang"},      {"磊", "lei"},
    {"军", "jun"},        {"洋", "yang"},        {"勇", "yong"},       {"艳", "yan"},
    {"杰", "jie"},        {"娟", "juan"},        {"涛", "tao"},        {"明", "ming"},
    {"超", "chao"},       {"霞", "xia"},         {"平", "ping"},       {"刚", "gang"},
    {"鹏", "peng"},       {"辉", "hui"},         {"秀英", "xiu ying"}, {"桂英", "gui ying"},
    {"建华", "jian hua"}, {"晓东", "xiao dong"}, {"海燕", "hai yan"},  {"文博", "wen bo"},
    {"子涵", "zi han"},   {"思远", "si yuan"},   {"雪梅", "xue mei"},  {"志强", "zhi qiang"},
    {"俊杰", "jun jie"},  {"欣怡", "xin yi"},    {"娜娜", "na na"},    {"婷婷", "ting ting"},
    {"浩然", "hao ran"},  {"梓萱", "zi xuan"},   {"一鸣", "yi ming"},  {"国庆", "guo qing"},
};

struct City {
  const char* hanzi;
  const char* region;
  const char* district;
};
constexpr City kCities[] = {
    {"杭州", "浙江省", "西湖区"}, {"宁波", "浙江省", "鄞州区"}, {"温州", "浙江省", "鹿城区"},
    {"深圳", "广东省", "南山区"}, {"广州", "广东省", "天河区"}, {"东莞", "广东省", "南城区"},
    {"苏州", "江苏省", "吴中区"}, {"南京", "江苏省", "鼓楼区"}, {"成都", "四川省", "武侯区"},
    {"武汉", "湖北省", "洪山区"}, {"青岛", "山东省", "市南区"}, {"厦门", "福建省", "思明区"},
    {"合肥", "安徽省", "蜀山区"}, {"郑州", "河南省", "金水区"}, {"上海", "上海市", "浦东新区"},
    {"北京", "北京市", "朝阳区"}, {"天津", "天津市", "和平区"}, {"西安", "陕西省", "雁塔区"},
};

struct CompanyWord {
  const char* hanzi;
  const char* pinyin;
};
constexpr CompanyWord kCompanyWords[] = {
    {"华信", "huaxin"},   {"恒达", "hengda"},     {"鑫源", "xinyuan"}, {"瑞丰", "ruifeng"},
    {"宏远", "hongyuan"}, {"天成", "tiancheng"},  {"金泰", "jintai"},  {"博远", "boyuan"},
    {"锦程", "jincheng"}, {"永盛", "yongsheng"},  {"嘉禾", "jiahe"},   {"明辉", "minghui"},
    {"汇通", "huitong"},  {"联创", "lianchuang"}, {"海纳", "haina"},   {"中科", "zhongke"},
    {"新星", "xinxing"},  {"百川", "baichuan"},   {"同德", "tongde"},  {"润泽", "runze"},
};

struct Sector {
  const char* word;      // in the company name
  const char* industry;  // the industry field
  const char* latin;     // in a Latin company name
};
constexpr Sector kSectors[] = {
    {"贸易", "批发和零售业", "Trading"},
    {"科技", "软件和信息技术服务业", "Technology"},
    {"电子", "计算机、通信和其他电子设备制造业", "Electronics"},
    {"物流", "交通运输、仓储和邮政业", "Logistics"},
    {"食品", "食品制造业", "Foods"},
    {"机械", "通用设备制造业", "Machinery"},
    {"建材", "非金属矿物制品业", "Building Materials"},
    {"医疗器械", "专用设备制造业", "Medical"},
    {"纺织", "纺织业", "Textiles"},
    {"新能源", "电力、热力生产和供应业", "Energy"},
};

constexpr const char* kCompanySuffixes[] = {"有限公司", "有限公司", "有限公司", "股份有限公司",
                                            "有限责任公司"};
constexpr const char* kLatinFirst[] = {"Laura",  "Michael", "David", "Anna",   "Thomas",
                                       "Sophie", "James",   "Maria", "Peter",  "Julia",
                                       "Daniel", "Emma",    "Lucas", "Olivia", "Henrik"};
constexpr const char* kLatinLast[] = {"Schmidt", "Smith",    "Johnson", "Brown",    "Garcia",
                                      "Rossi",   "Dubois",   "Novak",   "Kowalski", "Tanaka",
                                      "Nguyen",  "Anderson", "Fischer", "Weber",    "Lindqvist"};
constexpr const char* kLatinWords[] = {
    "Acme",   "Pacific", "Golden",     "Apex",      "Nova",      "Prime",     "Orient", "Summit",
    "Vertex", "Harbor",  "Silverline", "Bluewater", "Northstar", "Evergreen", "Sunrise"};
constexpr const char* kLatinSuffixes[] = {"Ltd.", "GmbH", "Inc.", "Co., Ltd.", "S.A.", "B.V."};

constexpr const char* kMobilePrefixes[] = {"130", "131", "132", "133", "135", "136", "137",
                                           "138", "139", "150", "151", "152", "155", "158",
                                           "159", "177", "186", "187", "188", "199"};
constexpr const char* kMailDomains[] = {"qq.com",   "163.com",     "126.com",
                                        "sina.com", "foxmail.com", "aliyun.com"};
constexpr const char* kGrades[] = {"A", "B", "B", "C", "C", "C", "D", "D", "E"};
constexpr const char* kStages[] = {"lead", "prospect", "active", "active", "silent", "lost"};
constexpr const char* kTiers[] = {"key", "special", "general", "general"};
constexpr const char* kChannels[] = {"referral",    "exhibition", "web",  "cold_visit",
                                     "advertising", "partner",    "other"};
constexpr const char* kScales[] = {"large", "medium", "small", "micro"};
constexpr const char* kTags[] = {"VIP", "高价值", "老客户", "展会", "待回访", "华东", "重点跟进"};
constexpr const char* kVisitChannels[] = {"in_person", "phone", "meeting", "video", "in_person"};

constexpr const char* kNotes[] = {
    "客户要求下周三前发货",
    "已确认报价，等待盖章合同",
    "季度回访，对售后服务满意",
    "需开具增值税专用发票",
    "联系人出差中，下周再跟进",
    "样品已寄出，顺丰单号待补",
    "年度框架协议续签中",
    "对价格比较敏感，建议申请折扣",
    "仓库地址变更，见附件",
    "老客户介绍，优先处理",
    "付款方式：月结60天",
    "计划扩大采购量约20%",
    "已加微信，沟通更及时",
    "需要英文版产品说明书",
    "决策人是采购部经理",
    "follow up re: invoice",
    "MOQ 500 pcs",
    "contact prefers email",
    "Net 30",
    "price list v2 sent",
    "met at Canton Fair",
};
constexpr const char* kVisitSentences[] = {
    "上午到访客户工厂，与采购部王经理及技术负责人面谈约两小时。",
    "客户介绍了今年的产能扩张计划，第三季度新增两条生产线，预计原材料需求增加三成。",
    "现场查看了我司上批设备的运行情况，整体稳定，但反映换型时间偏长，希望我们派工程师优化参数。",
    "对方对新品的能耗指标很感兴趣，索要了检测报告和同行业客户的使用案例。",
    "价格方面，客户认为比竞品高约8%，希望在年度框架协议中给予阶梯折扣，并将账期延长到90天。",
    "财务部提出上季度有两张发票信息有误，需要作废重开，已记录并转交我司财务跟进。",
    "竞争对手上个月也来拜访过，报价较低，但交期和售后响应不如我们，客户倾向继续合作。",
    "约定下周提供三种配置的正式报价单，并安排样机试用两周。",
    "客户仓库地址将于下月迁至新园区，收货联系人也会变更，需同步更新系统资料。",
    "技术部提出希望增加远程监控功能，已记录需求并反馈给产品经理评估。",
    "Discussed the Q3 forecast: volumes up about 30%, delivery schedule to be confirmed by PO.",
    "They asked for CE and ISO 9001 certificates and an English manual for the export line.",
    "Quote valid 15 days; payment Net 60 requested, we proposed Net 45 with 2% early discount.",
    "Sample order PO#4471203 shipped via SF Express, tracking number to follow.",
};
constexpr const char* kOutcomes[] = {"意向明确，进入报价阶段", "需进一步技术交流",
                                     "已签订年度框架协议", "暂无采购计划", "样机试用中"};
constexpr const char* kNextActions[] = {"发送正式报价单", "安排工程师上门调试", "寄送样品",
                                        "跟进合同盖章",   "邀请参观工厂",       "提交检测报告"};
constexpr const char* kAddresses[] = {"科技园路", "创业大道", "工业园区二路", "滨江大道",
                                      "解放路",   "人民路",   "建设路",       "长江路"};

// A patchable field and how often reps edit it, out of kPatchWeightTotal.
struct PatchField {
  const char* name;
  uint32_t weight;
};
constexpr PatchField kPatchFields[] = {
    {"notes", 20}, {"grade", 15},  {"lifecycle_stage", 12}, {"owner_rep", 10}, {"tier", 10},
    {"phones", 8}, {"address", 8}, {"emails", 5},           {"tags", 5},       {"core_need", 4},
    {"name", 3},
};
constexpr uint32_t kPatchWeightTotal = 100;

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

std::string Compact(const char* syllables) {
  std::string out;
  for (const char* p = syllables; *p; ++p) {
    if (*p != ' ') out.push_back(*p);
  }
  return out;
}

std::string InitialsOf(const char* syllables) {
  std::string out;
  bool start = true;
  for (const char* p = syllables; *p; ++p) {
    if (*p == ' ') {
      start = true;
    } else if (start) {
      out.push_back(*p);
      start = false;
    }
  }
  return out;
}

// The first `n` code points of UTF-8 text.
std::string FirstCodePoints(const std::string& s, size_t n) {
  size_t i = 0;
  for (size_t count = 0; i < s.size() && count < n; ++count) {
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
  }
  return s.substr(0, i);
}

}  // namespace

const char* QueryKindName(size_t kind) {
  static constexpr const char* kNames[kQueryKindCount] = {
      "chinese_name", "latin_fragment", "phone_fragment", "pinyin_full", "pinyin_initials"};
  return kind < kQueryKindCount ? kNames[kind] : "?";
}

uint64_t ModelGenerator::Next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::string ModelGenerator::Digits(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s.push_back(static_cast<char>('0' + Below(10)));
  return s;
}

// UUID version 4 layout (8-4-4-4-12).
std::string ModelGenerator::Id() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string h;
  for (int part = 0; part < 2; ++part) {
    uint64_t v = Next();
    for (int i = 0; i < 16; ++i, v >>= 4) h.push_back(kHex[v & 15]);
  }
  h[12] = '4';
  h[16] = "89ab"[Below(4)];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20, 12);
}

ModelCustomer ModelGenerator::Customer() {
  ModelCustomer c;
  c.id = Id();
  json r = json::object();
  r["id"] = c.id;
  const City& city = Pick(kCities);
  const Sector& sector = Pick(kSectors);
  const CompanyWord& word = Pick(kCompanyWords);
  const uint32_t roll = Below(100);
  c.latin = roll < 12;
  const bool person = c.latin ? roll < 6 : roll < 70;
  c.chinese_person = person && !c.latin;
  std::string email;
  if (c.latin) {
    const std::string latin_company = std::string(Pick(kLatinWords)) + " " + Pick(kLatinWords) +
                                      " " + sector.latin + " " + Pick(kLatinSuffixes);
    if (person) {
      const std::string first = Pick(kLatinFirst);
      const std::string last = Pick(kLatinLast);
      c.name = first + " " + last;
      c.company = latin_company;
      email = first + "." + last + "@" + Lower(std::string(word.pinyin)) + "-intl.com";
    } else {
      c.name = latin_company;
      email = "Sales@" + std::string(word.pinyin) + "-global.com";
    }
  } else if (person) {
    const Han& surname = Pick(kSurnames);
    const Han& given = Pick(kGivenNames);
    c.name = std::string(surname.hanzi) + given.hanzi;
    const std::string syllables = std::string(surname.pinyin) + " " + given.pinyin;
    c.pinyin = Compact(syllables.c_str());
    c.initials = InitialsOf(syllables.c_str());
    c.company = std::string(city.hanzi) + word.hanzi + sector.word + Pick(kCompanySuffixes);
    // Some reps type the address capitalized; fieldsync stores it lowercased.
    std::string local = c.pinyin;
    if (Below(3) == 0) local[0] = static_cast<char>(local[0] - 'a' + 'A');
    email = local + Digits(2) + "@" + Pick(kMailDomains);
  } else {
    c.name = std::string(word.hanzi) + sector.word;
    c.company = std::string(city.hanzi) + word.hanzi + sector.word + Pick(kCompanySuffixes);
    email = "sales@" + std::string(word.pinyin) + ".com.cn";
  }
  r["kind"] = person ? "person" : "company";
  r["name"] = c.name;
  if (!person || Below(5) != 0) r["company"] = c.company;
  r["industry"] = sector.industry;
  r["region"] = city.region;
  if (!person && Below(10) < 7) {
    r["address"] = std::string(city.hanzi) + "市" + city.district + Pick(kAddresses) +
                   std::to_string(1 + Below(999)) + "号";
  }
  if (!person && Below(2) == 0) r["scale"] = Pick(kScales);

  // Phones as reps type them; fieldsync stores E.164.
  json phones = json::array();
  const int phone_count = Below(5) == 0 ? 2 : 1;
  for (int i = 0; i < phone_count; ++i) {
    const std::string national = std::string(Pick(kMobilePrefixes)) + Digits(8);
    if (i == 0) c.national = national;
    if (!c.phones.empty()) c.phones += ",";
    c.phones += "+86" + national;
    switch (Below(4)) {
      case 0:
        phones.push_back(national);
        break;
      case 1:
        phones.push_back(national.substr(0, 3) + " " + national.substr(3, 4) + " " +
                         national.substr(7));
        break;
      case 2:
        phones.push_back("+86 " + national.substr(0, 3) + "-" + national.substr(3, 4) + "-" +
                         national.substr(7));
        break;
      default:
        phones.push_back("+86" + national);
        break;
    }
  }
  r["phones"] = phones;
  if (Below(10) < 7) {
    r["emails"] = json::array({email});
    c.emails = Lower(email);
  }
  r["grade"] = Pick(kGrades);
  r["lifecycle_stage"] = Pick(kStages);
  r["owner_rep"] = "rep-" + std::to_string(10 + Below(40));
  if (Below(2) == 0) r["source_channel"] = Pick(kChannels);
  if (Below(10) < 3) r["tags"] = json::array({Pick(kTags), Pick(kTags)});
  if (Below(2) == 0) r["notes"] = std::string(Pick(kNotes)) + "；" + Pick(kNotes);
  c.fields = static_cast<int>(r.size()) - 1;
  c.json = r.dump();
  return c;
}

std::string ModelGenerator::Patch(int* fields) {
  const int count = 1 + static_cast<int>(Below(3));
  json p = json::object();
  while (static_cast<int>(p.size()) < count) {
    uint32_t roll = Below(kPatchWeightTotal);
    const PatchField* f = &kPatchFields[0];
    for (const PatchField& candidate : kPatchFields) {
      if (roll < candidate.weight) {
        f = &candidate;
        break;
      }
      roll -= candidate.weight;
    }
    const std::string name = f->name;
    if (name == "notes") {
      p[name] = std::string(Pick(kNotes)) + "（" + std::to_string(1 + Below(12)) + "月" +
                std::to_string(1 + Below(28)) + "日）";
    } else if (name == "grade") {
      p[name] = Pick(kGrades);
    } else if (name == "lifecycle_stage") {
      p[name] = Pick(kStages);
    } else if (name == "owner_rep") {
      p[name] = "rep-" + std::to_string(10 + Below(40));
    } else if (name == "tier") {
      p[name] = Pick(kTiers);
    } else if (name == "phones") {
      const std::string national = std::string(Pick(kMobilePrefixes)) + Digits(8);
      p[name] = json::array(
          {national.substr(0, 3) + " " + national.substr(3, 4) + " " + national.substr(7)});
    } else if (name == "address") {
      const City& city = Pick(kCities);
      p[name] = std::string(city.hanzi) + "市" + city.district + Pick(kAddresses) +
                std::to_string(1 + Below(999)) + "号";
    } else if (name == "emails") {
      p[name] = json::array({std::string("buyer") + Digits(3) + "@" + Pick(kMailDomains)});
    } else if (name == "tags") {
      p[name] = json::array({Pick(kTags)});
    } else if (name == "core_need") {
      p[name] = "希望缩短交期至" + std::to_string(7 + Below(20)) + "天";
    } else {
      const Han& surname = Pick(kSurnames);
      const Han& given = Pick(kGivenNames);
      p[name] = std::string(surname.hanzi) + given.hanzi;
    }
  }
  *fields = count;
  return p.dump();
}

std::string ModelGenerator::Visit(const std::string& customer, std::string* id) {
  *id = Id();
  const uint32_t month = 1 + Below(12);
  const uint32_t day = 1 + Below(27);
  const uint32_t hour = 8 + Below(10);
  const uint32_t minute = Below(60);
  char start[40];
  char end[40];
  char due[16];
  std::snprintf(start, sizeof start, "2024-%02u-%02uT%02u:%02u:00+08:00", month, day, hour, minute);
  std::snprintf(end, sizeof end, "2024-%02u-%02uT%02u:%02u:00+08:00", month, day, hour + 1, minute);
  std::snprintf(due, sizeof due, "2024-%02u-%02u", month, day + 1);
  std::string summary;
  const size_t target = 1500 + Below(3000);
  while (summary.size() < target) summary += Pick(kVisitSentences);
  json v = {{"id", *id},
            {"customer", customer},
            {"rep", "rep-" + std::to_string(10 + Below(40))},
            {"start", start},
            {"end", end},
            {"channel", Pick(kVisitChannels)},
            {"summary", summary},
            {"outcome", Pick(kOutcomes)},
            {"satisfaction", 1 + Below(5)},
            {"next_action", Pick(kNextActions)},
            {"next_action_due", due}};
  return v.dump();
}

std::string ModelGenerator::Query(size_t kind, const std::vector<ModelCustomer>& customers) {
  auto draw = [&](auto accept) -> const ModelCustomer* {
    for (int tries = 0; tries < 10000; ++tries) {
      const ModelCustomer& c = customers[Below(static_cast<uint32_t>(customers.size()))];
      if (accept(c)) return &c;
    }
    return nullptr;
  };
  switch (kind) {
    case kQueryChineseName: {
      const ModelCustomer* c = draw([](const ModelCustomer& x) { return x.chinese_person; });
      return c ? FirstCodePoints(c->name, 2) : "张伟";
    }
    case kQueryLatin: {
      const ModelCustomer* c = draw([](const ModelCustomer& x) { return x.latin; });
      if (!c) return "Pacif";
      // The words of the name made of 4+ letters; a fragment from anywhere inside one.
      std::vector<std::string> words;
      std::string word;
      for (char ch : c->name + " ") {
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) {
          word.push_back(ch);
        } else {
          if (word.size() >= 4) words.push_back(word);
          word.clear();
        }
      }
      if (words.empty()) return "Pacif";
      const std::string& w = words[Below(static_cast<uint32_t>(words.size()))];
      const size_t length = std::min<size_t>(w.size(), 3 + Below(3));
      return w.substr(Below(static_cast<uint32_t>(w.size() - length + 1)), length);
    }
    case kQueryPhone: {
      const ModelCustomer& c = customers[Below(static_cast<uint32_t>(customers.size()))];
      const size_t length = 4 + Below(4);
      return c.national.substr(Below(static_cast<uint32_t>(c.national.size() - length + 1)),
                               length);
    }
    case kQueryPinyinFull:
    case kQueryPinyinInitials: {
      const ModelCustomer* c = draw([](const ModelCustomer& x) { return x.chinese_person; });
      if (!c) return kind == kQueryPinyinFull ? "zhangwei" : "zw";
      return kind == kQueryPinyinFull ? c->pinyin : c->initials;
    }
    default:
      return "";
  }
}

std::vector<ModelEdit> ModelGenerator::Edits(size_t edits_count, size_t put_every,
                                             std::vector<std::string>* existing) {
  std::vector<ModelEdit> edits;
  edits.reserve(edits_count);
  for (size_t i = 0; i < edits_count; ++i) {
    ModelEdit e;
    if (existing->empty() || i % put_every == 0) {
      ModelCustomer c = Customer();
      e.put = true;
      e.id = c.id;
      e.json = std::move(c.json);
      e.fields = c.fields;
      existing->push_back(e.id);
    } else {
      e.id = (*existing)[Below(static_cast<uint32_t>(existing->size()))];
      e.json = Patch(&e.fields);
    }
    edits.push_back(std::move(e));
  }
  return edits;
}

}  // namespace fieldsync::bench
